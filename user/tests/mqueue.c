/* POSIX message queues (mq_open, mq_unlink, mq_timedsend, mq_timedreceive,
 * mq_notify, mq_getsetattr) as Linux 6.1: names and attributes with their
 * errnos, priority order, O_NONBLOCK, absolute CLOCK_REALTIME timeouts,
 * EINTR, descriptor access modes, poll/epoll readiness, blocking across
 * processes, mq_notify's SIGEV_SIGNAL/SIGEV_NONE/SIGEV_THREAD and its
 * rules, the status line a read gives, RLIMIT_MSGQUEUE, queues per IPC
 * namespace and the limits of an unprivileged user. */
#define _GNU_SOURCE
#include "kt.h"

#include <mqueue.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>

#ifndef SI_MESGQ
#define SI_MESGQ (-3)
#endif
#ifndef CLONE_NEWIPC
#define CLONE_NEWIPC 0x08000000
#endif

static mqd_t mk(const char *name, int oflag, long maxmsg, long msgsize) {
    struct mq_attr a = {.mq_maxmsg = maxmsg, .mq_msgsize = msgsize};
    mq_unlink(name);
    return mq_open(name, oflag | O_CREAT, 0600, maxmsg ? &a : NULL);
}

static struct timespec after_ms(long ms) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += (ms % 1000) * 1000000L;
    ts.tv_sec += ms / 1000 + ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    return ts;
}

static long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

KT_CASE(open_defaults_cloexec_unlink) {
    umask(022);
    mqd_t q = KT_SYS_OK(mk("/kt_mq_a", O_RDWR, 0, 0));
    KT_EQ(fcntl(q, F_GETFD), FD_CLOEXEC);
    KT_EQ(fcntl(q, F_GETFL) & O_ACCMODE, O_RDWR);
    struct mq_attr a;
    KT_SYS_OK(mq_getattr(q, &a));
    KT_EQ(a.mq_maxmsg, 10);
    KT_EQ(a.mq_msgsize, 8192);
    KT_EQ(a.mq_curmsgs, 0);
    KT_EQ(a.mq_flags, 0);
    struct stat st;
    KT_SYS_OK(fstat(q, &st));
    KT_EQ(st.st_mode, S_IFREG | 0600);
    KT_EQ(st.st_uid, getuid());
    KT_EQ(st.st_size, 80); /* FILENT_SIZE */
    char path[64], link[64] = {0};
    snprintf(path, sizeof path, "/proc/self/fd/%d", (int)q);
    KT_SYS_RET(readlink(path, link, sizeof link - 1), 8);
    KT_TRUE(strcmp(link, "/kt_mq_a") == 0, "link %s", link);
    /* the queue stays usable after its name goes */
    KT_SYS_OK(mq_unlink("/kt_mq_a"));
    KT_SYS_ERR(mq_unlink("/kt_mq_a"), ENOENT);
    KT_SYS_OK(mq_send(q, "x", 1, 0));
    char b[8192];
    KT_SYS_RET(mq_receive(q, b, sizeof b, NULL), 1);
    KT_SYS_ERR(mq_open("/kt_mq_a", O_RDWR), ENOENT);
    mq_close(q);
}

KT_CASE(open_errors) {
    mqd_t q = KT_SYS_OK(mk("/kt_mq_b", O_RDWR, 0, 0));
    KT_SYS_ERR(mq_open("/kt_mq_b", O_RDWR | O_CREAT | O_EXCL, 0600, NULL), EEXIST);
    /* an existing queue ignores the attr */
    struct mq_attr bad = {.mq_maxmsg = 0, .mq_msgsize = 0};
    mqd_t q2 = KT_SYS_OK(mq_open("/kt_mq_b", O_RDWR | O_CREAT, 0600, &bad));
    mq_close(q2);
    KT_SYS_ERR(mq_open("/kt_mq_b", O_RDWR | O_WRONLY), EINVAL);
    KT_SYS_ERR(mq_open("/kt_mq_c", O_RDWR | O_CREAT, 0600, &bad), EINVAL);
    struct mq_attr neg = {.mq_maxmsg = 1, .mq_msgsize = -1};
    KT_SYS_ERR(mq_open("/kt_mq_c", O_RDWR | O_CREAT, 0600, &neg), EINVAL);
    struct mq_attr huge = {.mq_maxmsg = 65537, .mq_msgsize = 1};
    KT_SYS_ERR(mq_open("/kt_mq_c", O_RDWR | O_CREAT, 0600, &huge), EINVAL);
    KT_SYS_ERR(mq_open("/kt_mq_c", O_RDWR | O_CREAT, 0600, (struct mq_attr *)8), EFAULT);
    /* the names the kernel sees (musl drops one leading '/') */
    KT_SYS_ERR(syscall(SYS_mq_open, "", O_RDWR | O_CREAT, 0600, NULL), ENOENT);
    KT_SYS_ERR(syscall(SYS_mq_open, "a/b", O_RDWR | O_CREAT, 0600, NULL), EACCES);
    KT_SYS_ERR(syscall(SYS_mq_open, "..", O_RDWR | O_CREAT, 0600, NULL), EACCES);
    KT_SYS_ERR(syscall(SYS_mq_unlink, "."), EACCES);
    char name[300];
    memset(name, 'n', sizeof name);
    name[256] = 0;
    KT_SYS_ERR(syscall(SYS_mq_open, name, O_RDWR | O_CREAT, 0600, NULL), ENAMETOOLONG);
    name[255] = 0;
    int l = KT_SYS_OK(syscall(SYS_mq_open, name, O_RDWR | O_CREAT, 0600, NULL));
    KT_SYS_OK(syscall(SYS_mq_unlink, name));
    close(l);
    KT_SYS_ERR(syscall(SYS_mq_open, (char *)8, O_RDWR, 0, NULL), EFAULT);
    /* root (CAP_SYS_RESOURCE) is not held to msg_max/msgsize_max */
    struct mq_attr big = {.mq_maxmsg = 11, .mq_msgsize = 8193};
    mqd_t q3 = KT_SYS_OK(mq_open("/kt_mq_c", O_RDWR | O_CREAT, 0600, &big));
    mq_close(q3);
    mq_unlink("/kt_mq_c");
    mq_close(q);
    mq_unlink("/kt_mq_b");
}

KT_CASE(priority_order_and_sizes) {
    mqd_t q = KT_SYS_OK(mk("/kt_mq_p", O_RDWR, 8, 16));
    const char *m[] = {"a1", "b5", "c1", "d5", "e0", "f32767"};
    unsigned pr[] = {1, 5, 1, 5, 0, 32767};
    for (int i = 0; i < 6; i++) KT_SYS_OK(mq_send(q, m[i], strlen(m[i]), pr[i]));
    KT_SYS_ERR(mq_send(q, "x", 1, 32768), EINVAL);
    KT_SYS_ERR(mq_send(q, "01234567890123456", 17, 0), EMSGSIZE);
    char b[16];
    KT_SYS_ERR(mq_receive(q, b, 15, NULL), EMSGSIZE);
    const char *want[] = {"f32767", "b5", "d5", "a1", "c1", "e0"};
    unsigned wp[] = {32767, 5, 5, 1, 1, 0};
    for (int i = 0; i < 6; i++) {
        unsigned p = 99;
        memset(b, 0, sizeof b);
        KT_SYS_RET(mq_receive(q, b, sizeof b, &p), (long)strlen(want[i]));
        KT_TRUE(strcmp(b, want[i]) == 0, "message %d: %s, want %s", i, b, want[i]);
        KT_EQ(p, wp[i]);
    }
    /* an empty message */
    KT_SYS_OK(mq_send(q, "", 0, 3));
    KT_SYS_RET(mq_receive(q, b, sizeof b, NULL), 0);
    mq_close(q);
    mq_unlink("/kt_mq_p");
}

KT_CASE(nonblock_full_empty_setattr) {
    mqd_t q = KT_SYS_OK(mk("/kt_mq_n", O_RDWR | O_NONBLOCK, 2, 4));
    char b[4];
    KT_SYS_ERR(mq_receive(q, b, 4, NULL), EAGAIN);
    KT_SYS_OK(mq_send(q, "1", 1, 0));
    KT_SYS_OK(mq_send(q, "22", 2, 0));
    KT_SYS_ERR(mq_send(q, "3", 1, 0), EAGAIN);
    struct mq_attr a, old;
    KT_SYS_OK(mq_getattr(q, &a));
    KT_EQ(a.mq_flags, O_NONBLOCK);
    KT_EQ(a.mq_maxmsg, 2);
    KT_EQ(a.mq_msgsize, 4);
    KT_EQ(a.mq_curmsgs, 2);
    struct mq_attr set = {.mq_flags = 0, .mq_maxmsg = 99};
    KT_SYS_OK(mq_setattr(q, &set, &old));
    KT_EQ(old.mq_flags, O_NONBLOCK);
    KT_EQ(fcntl(q, F_GETFL) & O_NONBLOCK, 0);
    KT_SYS_OK(mq_getattr(q, &a));
    KT_EQ(a.mq_flags, 0);
    KT_EQ(a.mq_maxmsg, 2);
    set.mq_flags = O_NONBLOCK | 1;
    KT_SYS_ERR(mq_setattr(q, &set, NULL), EINVAL);
    KT_SYS_OK(fcntl(q, F_SETFL, O_NONBLOCK));
    KT_SYS_OK(mq_getattr(q, &a));
    KT_EQ(a.mq_flags, O_NONBLOCK);
    KT_SYS_ERR(syscall(SYS_mq_getsetattr, q, NULL, (void *)8), EFAULT);
    mq_close(q);
    mq_unlink("/kt_mq_n");
}

KT_CASE(timeouts) {
    mqd_t q = KT_SYS_OK(mk("/kt_mq_t", O_RDWR, 1, 4));
    char b[4];
    struct timespec ts = after_ms(60);
    long t0 = now_ms();
    KT_SYS_ERR(mq_timedreceive(q, b, 4, NULL, &ts), ETIMEDOUT);
    long dt = now_ms() - t0;
    KT_TRUE(dt >= 50 && dt < 5000, "waited %ld ms", dt);
    struct timespec bad = {0, 1000000000L};
    KT_SYS_ERR(mq_timedsend(q, "x", 1, 0, &bad), EINVAL);
    struct timespec neg = {-1, 0};
    KT_SYS_ERR(mq_timedreceive(q, b, 4, NULL, &neg), EINVAL);
    /* a past time: only when it would wait */
    struct timespec past = {1, 0};
    KT_SYS_OK(mq_timedsend(q, "x", 1, 0, &past));
    KT_SYS_ERR(mq_timedsend(q, "y", 1, 0, &past), ETIMEDOUT);
    KT_SYS_RET(mq_timedreceive(q, b, 4, NULL, &past), 1);
    KT_SYS_ERR(mq_timedreceive(q, b, 4, NULL, &past), ETIMEDOUT);
    mq_close(q);
    mq_unlink("/kt_mq_t");
}

KT_CASE(access_modes_ebadf) {
    mqd_t q = KT_SYS_OK(mk("/kt_mq_e", O_RDWR, 2, 4));
    mqd_t r = KT_SYS_OK(mq_open("/kt_mq_e", O_RDONLY));
    mqd_t w = KT_SYS_OK(mq_open("/kt_mq_e", O_WRONLY));
    char b[4];
    KT_SYS_ERR(mq_send(r, "x", 1, 0), EBADF);
    KT_SYS_OK(mq_send(w, "x", 1, 0));
    KT_SYS_ERR(mq_receive(w, b, 4, NULL), EBADF);
    KT_SYS_RET(mq_receive(r, b, 4, NULL), 1);
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_ERR(mq_send(p[1], "x", 1, 0), EBADF);
    struct mq_attr a;
    KT_SYS_ERR(mq_getattr(p[0], &a), EBADF);
    KT_SYS_ERR(mq_getattr(-1, &a), EBADF);
    KT_SYS_ERR(mq_notify(p[0], NULL), EBADF);
    /* the priority is looked at before the descriptor */
    KT_SYS_ERR(mq_send(-1, "x", 1, 40000), EINVAL);
    /* write(2) on a queue is EINVAL; on a read-only one EBADF */
    KT_SYS_ERR(write(q, "x", 1), EINVAL);
    KT_SYS_ERR(write(r, "x", 1), EBADF);
    KT_SYS_ERR(read(w, b, 4), EBADF);
    /* dup'd descriptors share the queue; closing one leaves the other */
    int d = KT_SYS_OK(dup(q));
    KT_SYS_OK(mq_close(q));
    KT_SYS_OK(mq_send(d, "y", 1, 0));
    KT_SYS_RET(mq_receive(d, b, 4, NULL), 1);
    close(d);
    close(r);
    close(w);
    close(p[0]);
    close(p[1]);
    mq_unlink("/kt_mq_e");
}

KT_CASE(blocking_across_processes) {
    mqd_t q = KT_SYS_OK(mk("/kt_mq_x", O_RDWR, 1, 8));
    pid_t c = KT_FORK();
    if (c == 0) {
        /* the inherited descriptor */
        kt_msleep(100);
        if (mq_send(q, "hello", 5, 7) != 0) _exit(1);
        /* the queue is full: this one waits for the parent's receive */
        if (mq_send(q, "again", 5, 2) != 0) _exit(2);
        _exit(0);
    }
    char b[8] = {0};
    unsigned p = 0;
    KT_SYS_RET(mq_receive(q, b, 8, &p), 5);
    KT_TRUE(memcmp(b, "hello", 5) == 0, "got %s", b);
    KT_EQ(p, 7);
    kt_msleep(100);
    struct mq_attr a;
    KT_SYS_OK(mq_getattr(q, &a));
    KT_EQ(a.mq_curmsgs, 1);
    KT_SYS_RET(mq_receive(q, b, 8, &p), 5);
    KT_EQ(p, 2);
    KT_WAIT_STATUS(c, kt_exited(0));
    /* a blocked sender is released by a receive */
    KT_SYS_OK(mq_send(q, "1", 1, 0));
    c = KT_FORK();
    if (c == 0) {
        kt_msleep(100);
        char cb[8];
        if (mq_receive(q, cb, 8, NULL) != 1 || cb[0] != '1') _exit(1);
        _exit(0);
    }
    KT_SYS_OK(mq_send(q, "2", 1, 0));
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_SYS_RET(mq_receive(q, b, 8, NULL), 1);
    KT_EQ(b[0], '2');
    mq_close(q);
    mq_unlink("/kt_mq_x");
}

/* Waiting receivers are served by task priority, then in arrival order
 * (Linux's wq_add): a nice 0 receiver that came second gets the first
 * message before a nice 10 one. */
KT_CASE(waiting_receivers_by_priority) {
    mqd_t q = KT_SYS_OK(mk("/kt_mq_o", O_RDWR, 2, 4));
    pid_t lo = KT_FORK();
    if (lo == 0) {
        if (nice(10) != 10) _exit(3);
        char cb[4];
        _exit(mq_receive(q, cb, 4, NULL) == 1 && cb[0] == '2' ? 0 : 1);
    }
    KT_TRUE(kt_wait_sleeping(lo, 5000), "nice 10 receiver waits");
    kt_msleep(50);
    pid_t hi = KT_FORK();
    if (hi == 0) {
        char cb[4];
        _exit(mq_receive(q, cb, 4, NULL) == 1 && cb[0] == '1' ? 0 : 1);
    }
    KT_TRUE(kt_wait_sleeping(hi, 5000), "nice 0 receiver waits");
    kt_msleep(50);
    KT_SYS_OK(mq_send(q, "1", 1, 0));
    KT_WAIT_STATUS(hi, kt_exited(0));
    KT_SYS_OK(mq_send(q, "2", 1, 0));
    KT_WAIT_STATUS(lo, kt_exited(0));
    mq_close(q);
    mq_unlink("/kt_mq_o");
}

static volatile sig_atomic_t got_alarm;
static void on_alarm(int s) {
    (void)s;
    got_alarm = 1;
}

KT_CASE(eintr_and_restart) {
    mqd_t q = KT_SYS_OK(mk("/kt_mq_i", O_RDWR, 1, 4));
    struct sigaction sa = {.sa_handler = on_alarm};
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {.it_value = {0, 50000}};
    setitimer(ITIMER_REAL, &it, NULL);
    char b[4];
    KT_SYS_ERR(mq_receive(q, b, 4, NULL), EINTR);
    KT_EQ(got_alarm, 1);
    KT_SYS_OK(mq_send(q, "x", 1, 0));
    got_alarm = 0;
    setitimer(ITIMER_REAL, &it, NULL);
    KT_SYS_ERR(mq_send(q, "y", 1, 0), EINTR);
    KT_EQ(got_alarm, 1);
    /* with SA_RESTART the wait goes on after the handler */
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    KT_SYS_RET(mq_receive(q, b, 4, NULL), 1);
    got_alarm = 0;
    pid_t c = KT_FORK();
    if (c == 0) {
        kt_msleep(200);
        _exit(mq_send(q, "z", 1, 0) == 0 ? 0 : 1);
    }
    setitimer(ITIMER_REAL, &it, NULL);
    KT_SYS_RET(mq_receive(q, b, 4, NULL), 1);
    KT_EQ(got_alarm, 1);
    KT_EQ(b[0], 'z');
    KT_WAIT_STATUS(c, kt_exited(0));
    signal(SIGALRM, SIG_DFL);
    mq_close(q);
    mq_unlink("/kt_mq_i");
}

static unsigned revents(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
    if (poll(&p, 1, 0) < 0) return 0xdead;
    return (unsigned)p.revents;
}

KT_CASE(poll_and_epoll) {
    mqd_t q = KT_SYS_OK(mk("/kt_mq_r", O_RDWR, 2, 4));
    KT_EQ(revents(q), POLLOUT);
    KT_SYS_OK(mq_send(q, "1", 1, 0));
    KT_EQ(revents(q), POLLIN | POLLOUT);
    KT_SYS_OK(mq_send(q, "2", 1, 0));
    KT_EQ(revents(q), POLLIN);
    char b[4];
    mq_receive(q, b, 4, NULL);
    mq_receive(q, b, 4, NULL);
    int ep = KT_SYS_OK(epoll_create1(0));
    struct epoll_event e = {.events = EPOLLIN, .data.u64 = 77};
    KT_SYS_OK(epoll_ctl(ep, EPOLL_CTL_ADD, q, &e));
    struct epoll_event out = {0};
    KT_SYS_RET(epoll_wait(ep, &out, 1, 0), 0);
    pid_t c = KT_FORK();
    if (c == 0) {
        kt_msleep(100);
        _exit(mq_send(q, "e", 1, 0) == 0 ? 0 : 1);
    }
    KT_SYS_RET(epoll_wait(ep, &out, 1, 5000), 1);
    KT_EQ(out.events, EPOLLIN);
    KT_EQ(out.data.u64, 77);
    KT_WAIT_STATUS(c, kt_exited(0));
    close(ep);
    mq_close(q);
    mq_unlink("/kt_mq_r");
}

static volatile sig_atomic_t n_usr1;
static volatile int usr1_code, usr1_pid, usr1_uid, usr1_val;
static void on_usr1(int s, siginfo_t *si, void *u) {
    (void)s;
    (void)u;
    n_usr1++;
    usr1_code = si->si_code;
    usr1_pid = si->si_pid;
    usr1_uid = si->si_uid;
    usr1_val = si->si_value.sival_int;
}

KT_CASE(notify_signal_rules) {
    mqd_t q = KT_SYS_OK(mk("/kt_mq_s", O_RDWR, 4, 8));
    struct sigaction sa = {.sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO};
    sigaction(SIGUSR1, &sa, NULL);
    struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
    ev.sigev_value.sival_int = 42;
    KT_SYS_OK(mq_notify(q, &ev));
    /* the same process registering again: EBUSY too */
    KT_SYS_ERR(mq_notify(q, &ev), EBUSY);
    pid_t c = KT_FORK();
    if (c == 0) {
        struct sigevent e2 = {.sigev_notify = SIGEV_NONE};
        if (mq_notify(q, &e2) != -1 || errno != EBUSY) _exit(1);
        /* another's NULL leaves the registration alone */
        if (mq_notify(q, NULL) != 0) _exit(2);
        if (mq_send(q, "m", 1, 0) != 0) _exit(3);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    for (int i = 0; i < 100 && !n_usr1; i++) kt_msleep(5);
    KT_EQ(n_usr1, 1);
    KT_EQ(usr1_code, SI_MESGQ);
    KT_EQ(usr1_pid, c);
    KT_EQ(usr1_uid, getuid());
    KT_EQ(usr1_val, 42);
    /* one shot: gone now */
    char b[8];
    mq_receive(q, b, 8, NULL);
    KT_SYS_OK(mq_send(q, "m", 1, 0));
    kt_msleep(20);
    KT_EQ(n_usr1, 1);
    /* registered on a non-empty queue: nothing until it empties and fills */
    KT_SYS_OK(mq_notify(q, &ev));
    KT_SYS_OK(mq_send(q, "m", 1, 0));
    kt_msleep(20);
    KT_EQ(n_usr1, 1);
    mq_receive(q, b, 8, NULL);
    mq_receive(q, b, 8, NULL);
    KT_SYS_OK(mq_send(q, "m", 1, 0));
    for (int i = 0; i < 100 && n_usr1 < 2; i++) kt_msleep(5);
    KT_EQ(n_usr1, 2);
    KT_EQ(usr1_pid, getpid());
    mq_receive(q, b, 8, NULL);
    /* unregistered with NULL: nothing */
    KT_SYS_OK(mq_notify(q, &ev));
    KT_SYS_OK(mq_notify(q, NULL));
    KT_SYS_OK(mq_send(q, "m", 1, 0));
    kt_msleep(20);
    KT_EQ(n_usr1, 2);
    mq_receive(q, b, 8, NULL);
    /* signal 0 is accepted: the first message takes the registration
     * away without sending anything */
    struct sigevent zero = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = 0};
    struct sigevent none = {.sigev_notify = SIGEV_NONE};
    KT_SYS_OK(mq_notify(q, &zero));
    KT_SYS_ERR(mq_notify(q, &none), EBUSY);
    KT_SYS_OK(mq_send(q, "m", 1, 0));
    KT_SYS_OK(mq_notify(q, &none));
    KT_SYS_OK(mq_notify(q, NULL));
    mq_receive(q, b, 8, NULL);
    KT_EQ(n_usr1, 2);
    struct sigevent badsig = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = 65};
    KT_SYS_ERR(mq_notify(q, &badsig), EINVAL);
    struct sigevent badhow = {.sigev_notify = 9};
    KT_SYS_ERR(mq_notify(q, &badhow), EINVAL);
    signal(SIGUSR1, SIG_DFL);
    mq_close(q);
    mq_unlink("/kt_mq_s");
}

/* si_uid is the sender's uid as the registrant's user namespace sees it
 * (nothing mapped there: the overflow uid), si_pid its pid. */
static mqd_t userns_q;
static int userns_pipe[2];
static int userns_child(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, NULL);
    KT_CHILD_CHECK(1, unshare(CLONE_NEWUSER) == 0);
    struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR2};
    ev.sigev_value.sival_int = 5;
    KT_CHILD_CHECK(2, mq_notify(userns_q, &ev) == 0);
    KT_CHILD_CHECK(3, write(userns_pipe[1], "r", 1) == 1);
    siginfo_t si;
    struct timespec ts = {5, 0};
    KT_CHILD_CHECK(4, sigtimedwait(&set, &si, &ts) == SIGUSR2);
    KT_CHILD_CHECK(5, si.si_code == SI_MESGQ);
    KT_CHILD_CHECK(6, si.si_uid == 65534);
    KT_CHILD_CHECK(7, si.si_pid == getppid());
    KT_CHILD_CHECK(8, si.si_value.sival_int == 5);
    return 0;
}

KT_CASE(notify_si_uid_in_user_namespace) {
    userns_q = KT_SYS_OK(mk("/kt_mq_un", O_RDWR, 4, 8));
    KT_SYS_OK(pipe(userns_pipe));
    pid_t c = KT_FORK();
    if (c == 0) _exit(userns_child());
    char r;
    KT_SYS_RET(read(userns_pipe[0], &r, 1), 1);
    KT_SYS_OK(mq_send(userns_q, "m", 1, 0));
    KT_WAIT_STATUS(c, kt_exited(0));
    close(userns_pipe[0]);
    close(userns_pipe[1]);
    mq_close(userns_q);
    mq_unlink("/kt_mq_un");
}

KT_CASE(notify_not_with_waiting_receiver) {
    mqd_t q = KT_SYS_OK(mk("/kt_mq_w", O_RDWR, 4, 8));
    n_usr1 = 0;
    struct sigaction sa = {.sa_sigaction = on_usr1, .sa_flags = SA_SIGINFO};
    sigaction(SIGUSR1, &sa, NULL);
    struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
    KT_SYS_OK(mq_notify(q, &ev));
    pid_t c = KT_FORK();
    if (c == 0) {
        char cb[8];
        _exit(mq_receive(q, cb, 8, NULL) == 1 ? 0 : 1);
    }
    kt_wait_sleeping(c, 2000);
    kt_msleep(100);
    KT_SYS_OK(mq_send(q, "m", 1, 0));
    KT_WAIT_STATUS(c, kt_exited(0));
    kt_msleep(20);
    KT_EQ(n_usr1, 0);
    /* still registered */
    struct sigevent none = {.sigev_notify = SIGEV_NONE};
    KT_SYS_ERR(mq_notify(q, &none), EBUSY);
    /* closing a descriptor of the queue removes the registration */
    mqd_t d = KT_SYS_OK(mq_open("/kt_mq_w", O_RDONLY));
    KT_SYS_OK(mq_close(d));
    KT_SYS_OK(mq_notify(q, &none));
    signal(SIGUSR1, SIG_DFL);
    mq_close(q);
    mq_unlink("/kt_mq_w");
}

KT_CASE(status_line_read) {
    mqd_t q = KT_SYS_OK(mk("/kt_mq_l", O_RDWR, 4, 8));
    KT_SYS_OK(mq_send(q, "hello", 5, 1));
    KT_SYS_OK(mq_send(q, "abc", 3, 2));
    char b[128] = {0};
    int n = KT_SYS_OK(read(q, b, sizeof b - 1));
    const char *want = "QSIZE:8          NOTIFY:0     SIGNO:0     NOTIFY_PID:0     \n";
    KT_TRUE(n == (int)strlen(want) && strcmp(b, want) == 0, "read %d: [%s]", n, b);
    KT_SYS_RET(read(q, b, sizeof b), 0);
    struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR2};
    KT_SYS_OK(mq_notify(q, &ev));
    KT_SYS_OK(lseek(q, 0, SEEK_SET));
    memset(b, 0, sizeof b);
    KT_SYS_OK(read(q, b, sizeof b - 1));
    char w2[128];
    snprintf(w2, sizeof w2, "QSIZE:8          NOTIFY:0     SIGNO:%-5d NOTIFY_PID:%-6d\n", SIGUSR2, getpid());
    KT_TRUE(strcmp(b, w2) == 0, "[%s] want [%s]", b, w2);
    struct sigevent none = {.sigev_notify = SIGEV_NONE};
    KT_SYS_OK(mq_notify(q, NULL));
    KT_SYS_OK(mq_notify(q, &none));
    KT_SYS_OK(lseek(q, 0, SEEK_SET));
    memset(b, 0, sizeof b);
    KT_SYS_OK(read(q, b, sizeof b - 1));
    snprintf(w2, sizeof w2, "QSIZE:8          NOTIFY:1     SIGNO:0     NOTIFY_PID:%-6d\n", getpid());
    KT_TRUE(strcmp(b, w2) == 0, "[%s] want [%s]", b, w2);
    mq_close(q);
    mq_unlink("/kt_mq_l");
}

static int rlimit_child(void) {
    /* 2 default queues: 2 * (10 * 8192 + 10 * 48 + 10 * 48) bytes */
    struct rlimit r = {165760, 165760};
    KT_CHILD_CHECK(1, setrlimit(RLIMIT_MSGQUEUE, &r) == 0);
    mqd_t a = mk("/kt_mq_q1", O_RDWR, 0, 0);
    mqd_t b = mk("/kt_mq_q2", O_RDWR, 0, 0);
    KT_CHILD_CHECK(2, a >= 0 && b >= 0);
    mq_unlink("/kt_mq_q3");
    errno = 0;
    KT_CHILD_CHECK(3, mq_open("/kt_mq_q3", O_RDWR | O_CREAT, 0600, NULL) == -1 && errno == EMFILE);
    struct mq_attr small = {.mq_maxmsg = 1, .mq_msgsize = 1};
    errno = 0;
    KT_CHILD_CHECK(4, mq_open("/kt_mq_q3", O_RDWR | O_CREAT, 0600, &small) == -1 && errno == EMFILE);
    /* the bytes come back when a queue is gone (unlinked and closed) */
    mq_unlink("/kt_mq_q2");
    KT_CHILD_CHECK(5, mq_open("/kt_mq_q3", O_RDWR | O_CREAT, 0600, &small) == -1);
    mq_close(b);
    int c = mq_open("/kt_mq_q3", O_RDWR | O_CREAT, 0600, &small);
    KT_CHILD_CHECK(6, c >= 0);
    mq_unlink("/kt_mq_q1");
    mq_unlink("/kt_mq_q3");
    return 0;
}

static int nofile_child(void) {
    /* no free descriptor: EMFILE, and no queue was made */
    int top = open("/", O_RDONLY); /* the lowest free: every lower one is open */
    KT_CHILD_CHECK(1, top >= 0);
    struct rlimit r = {(rlim_t)top + 1, (rlim_t)top + 1};
    KT_CHILD_CHECK(2, setrlimit(RLIMIT_NOFILE, &r) == 0);
    mq_unlink("/kt_mq_nofile");
    errno = 0;
    KT_CHILD_CHECK(4, mq_open("/kt_mq_nofile", O_RDWR | O_CREAT, 0600, NULL) == -1 && errno == EMFILE);
    close(top);
    errno = 0;
    KT_CHILD_CHECK(5, mq_open("/kt_mq_nofile", O_RDWR) == -1 && errno == ENOENT);
    return 0;
}

KT_CASE(rlimit_msgqueue_emfile) {
    KT_EQ(kt_in_child(rlimit_child), 0);
    KT_EQ(kt_in_child(nofile_child), 0);
}

static int nobody_child(void) {
    /* a new IPC namespace starts without queues and with the default limits */
    KT_CHILD_CHECK(1, unshare(CLONE_NEWIPC) == 0);
    errno = 0;
    KT_CHILD_CHECK(2, mq_open("/kt_mq_ns", O_RDWR) == -1 && errno == ENOENT);
    int fd = open("/proc/sys/fs/mqueue/queues_max", O_WRONLY);
    KT_CHILD_CHECK(3, fd >= 0 && write(fd, "1\n", 2) == 2);
    close(fd);
    mqd_t a = mq_open("/kt_mq_root", O_RDWR | O_CREAT, 0600, NULL);
    KT_CHILD_CHECK(4, a >= 0);
    /* root passes queues_max */
    mqd_t b = mq_open("/kt_mq_root2", O_RDWR | O_CREAT, 0644, NULL);
    KT_CHILD_CHECK(5, b >= 0);
    KT_CHILD_CHECK(6, setuid(65534) == 0);
    errno = 0;
    KT_CHILD_CHECK(7, mq_open("/kt_mq_u", O_RDWR | O_CREAT, 0600, NULL) == -1 && errno == ENOSPC);
    errno = 0;
    KT_CHILD_CHECK(8, mq_open("/kt_mq_root", O_RDONLY) == -1 && errno == EACCES);
    mqd_t r = mq_open("/kt_mq_root2", O_RDONLY);
    KT_CHILD_CHECK(9, r >= 0);
    errno = 0;
    KT_CHILD_CHECK(10, mq_open("/kt_mq_root2", O_WRONLY) == -1 && errno == EACCES);
    /* the sticky root: EPERM from the kernel (musl's mq_unlink says EACCES) */
    errno = 0;
    KT_CHILD_CHECK(11, syscall(SYS_mq_unlink, "kt_mq_root2") == -1 && errno == EPERM);
    errno = 0;
    KT_CHILD_CHECK(12, mq_unlink("/kt_mq_root2") == -1 && errno == EACCES);
    return 0;
}

KT_CASE(ipc_namespace_and_unprivileged_limits) {
    mqd_t q = KT_SYS_OK(mk("/kt_mq_ns", O_RDWR, 0, 0));
    KT_EQ(kt_in_child(nobody_child), 0);
    /* the child's namespace's queues are not ours */
    KT_SYS_ERR(mq_open("/kt_mq_root", O_RDWR), ENOENT);
    mq_close(q);
    mq_unlink("/kt_mq_ns");
}

static int unpriv_attr_child(void) {
    KT_CHILD_CHECK(1, setuid(65534) == 0);
    struct mq_attr a = {.mq_maxmsg = 11, .mq_msgsize = 16};
    errno = 0;
    KT_CHILD_CHECK(2, mq_open("/kt_mq_v", O_RDWR | O_CREAT, 0600, &a) == -1 && errno == EINVAL);
    a.mq_maxmsg = 10;
    a.mq_msgsize = 8193;
    errno = 0;
    KT_CHILD_CHECK(3, mq_open("/kt_mq_v", O_RDWR | O_CREAT, 0600, &a) == -1 && errno == EINVAL);
    a.mq_msgsize = 8192;
    mqd_t q = mq_open("/kt_mq_v", O_RDWR | O_CREAT, 0600, &a);
    KT_CHILD_CHECK(4, q >= 0);
    KT_CHILD_CHECK(5, mq_unlink("/kt_mq_v") == 0);
    return 0;
}

KT_CASE(unprivileged_attr_limits) {
    KT_EQ(kt_in_child(unpriv_attr_child), 0);
}

static int thread_pipe[2];
static void on_thread_notify(union sigval v) {
    char c = (char)v.sival_int;
    write(thread_pipe[1], &c, 1);
}

KT_CASE(notify_sigev_thread) {
    mqd_t q = KT_SYS_OK(mk("/kt_mq_th", O_RDWR, 4, 8));
    KT_SYS_OK(pipe(thread_pipe));
    struct sigevent ev = {.sigev_notify = SIGEV_THREAD, .sigev_notify_function = on_thread_notify};
    ev.sigev_value.sival_int = 'K';
    KT_SYS_OK(mq_notify(q, &ev));
    struct sigevent none = {.sigev_notify = SIGEV_NONE};
    KT_SYS_ERR(mq_notify(q, &none), EBUSY);
    KT_SYS_OK(mq_send(q, "m", 1, 0));
    struct pollfd p = {.fd = thread_pipe[0], .events = POLLIN};
    KT_SYS_RET(poll(&p, 1, 5000), 1);
    char c = 0;
    KT_SYS_RET(read(thread_pipe[0], &c, 1), 1);
    KT_EQ(c, 'K');
    /* one shot: a new registration is possible */
    KT_SYS_OK(mq_notify(q, &none));
    /* the kernel's side: a cookie to a netlink socket, any other fd refused */
    KT_SYS_OK(mq_notify(q, NULL));
    char cookie[32] = {0};
    struct sigevent raw = {.sigev_notify = SIGEV_THREAD, .sigev_signo = thread_pipe[0]};
    raw.sigev_value.sival_ptr = cookie;
    KT_SYS_ERR(syscall(SYS_mq_notify, q, &raw), ENOTSOCK);
    raw.sigev_signo = 999;
    KT_SYS_ERR(syscall(SYS_mq_notify, q, &raw), EBADF);
    close(thread_pipe[0]);
    close(thread_pipe[1]);
    mq_close(q);
    mq_unlink("/kt_mq_th");
}

#include <dirent.h>

/* The registration goes when its process exits or execs (its descriptors
 * of the queue are closed then). */
KT_CASE(notify_gone_with_exit_and_exec) {
    mqd_t q = KT_SYS_OK(mk("/kt_mq_g", O_RDWR, 4, 8));
    struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
    struct sigevent none = {.sigev_notify = SIGEV_NONE};
    pid_t c = KT_FORK();
    if (c == 0) _exit(mq_notify(q, &ev) == 0 ? 0 : 1);
    /* a zombie's registration is gone already */
    siginfo_t si;
    KT_SYS_OK(waitid(P_PID, c, &si, WEXITED | WNOWAIT));
    KT_SYS_OK(mq_notify(q, &none));
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_SYS_OK(mq_notify(q, NULL));
    int p[2];
    KT_SYS_OK(pipe(p));
    c = KT_FORK();
    if (c == 0) {
        if (mq_notify(q, &ev) != 0) _exit(1);
        write(p[1], "r", 1);
        kt_msleep(200);
        execl(kt_self, kt_self, "kt-sleep", (char *)NULL);
        _exit(2);
    }
    char r;
    KT_SYS_RET(read(p[0], &r, 1), 1);
    KT_SYS_ERR(mq_notify(q, &none), EBUSY);
    int ok = -1;
    for (int i = 0; i < 200 && ok != 0; i++) {
        ok = mq_notify(q, &none);
        if (ok != 0) kt_msleep(10);
    }
    KT_EQ(ok, 0);
    kill(c, SIGKILL);
    KT_WAIT_STATUS(c, kt_killed(SIGKILL));
    close(p[0]);
    close(p[1]);
    mq_close(q);
    mq_unlink("/kt_mq_g");
}

/* Whether directory `dir` lists `name`. */
static int lists(const char *dir, const char *name) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int found = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, name) == 0) found = 1;
    closedir(d);
    return found;
}

static int fs_ns_child(void) {
    KT_CHILD_CHECK(1, unshare(CLONE_NEWIPC) == 0);
    mkdir("/kt_mqfs2", 0755);
    KT_CHILD_CHECK(2, mount("none", "/kt_mqfs2", "mqueue", 0, NULL) == 0);
    /* a new namespace's mount shows its own queues only */
    KT_CHILD_CHECK(3, lists("/kt_mqfs2", "kt_mq_fs") == 0);
    mqd_t q = mq_open("/kt_mq_fs_ns", O_RDWR | O_CREAT, 0640, NULL);
    KT_CHILD_CHECK(4, q >= 0);
    KT_CHILD_CHECK(5, lists("/kt_mqfs2", "kt_mq_fs_ns") == 1);
    KT_CHILD_CHECK(6, lists("/kt_mqfs", "kt_mq_fs_ns") == 0);
    KT_CHILD_CHECK(7, umount("/kt_mqfs2") == 0);
    rmdir("/kt_mqfs2");
    return 0;
}

KT_CASE(mqueue_filesystem) {
    mkdir("/kt_mqfs", 0755);
    KT_SYS_OK(mount("none", "/kt_mqfs", "mqueue", 0, NULL));
    struct stat dst;
    KT_SYS_OK(stat("/kt_mqfs", &dst));
    KT_EQ(dst.st_mode, S_IFDIR | S_ISVTX | 0777);
    mqd_t q = KT_SYS_OK(mk("/kt_mq_fs", O_RDWR, 4, 8));
    KT_SYS_OK(mq_send(q, "hello", 5, 1));
    KT_SYS_OK(mq_send(q, "abc", 3, 2));
    KT_EQ(lists("/kt_mqfs", "kt_mq_fs"), 1);
    struct stat st;
    KT_SYS_OK(stat("/kt_mqfs/kt_mq_fs", &st));
    KT_EQ(st.st_mode, S_IFREG | 0600);
    /* the file's size is the queue inode's (FILENT_SIZE), as fstat of a
       queue descriptor: ls -l of /dev/mqueue shows 80 */
    KT_EQ(st.st_size, 80);
    KT_EQ(st.st_nlink, 1);
    char b[128] = {0};
    int fd = KT_SYS_OK(open("/kt_mqfs/kt_mq_fs", O_RDONLY));
    KT_SYS_OK(read(fd, b, sizeof b - 1));
    close(fd);
    const char *want = "QSIZE:8          NOTIFY:0     SIGNO:0     NOTIFY_PID:0     \n";
    KT_TRUE(strcmp(b, want) == 0, "[%s]", b);
    /* open(2) of the file gives a queue descriptor (not close-on-exec) */
    int w = KT_SYS_OK(open("/kt_mqfs/kt_mq_fs", O_WRONLY | O_NONBLOCK));
    KT_EQ(fcntl(w, F_GETFD), 0);
    struct mq_attr a;
    KT_SYS_OK(mq_getattr(w, &a));
    KT_EQ(a.mq_flags, O_NONBLOCK);
    KT_EQ(a.mq_maxmsg, 4);
    KT_EQ(a.mq_curmsgs, 2);
    KT_SYS_OK(mq_send(w, "z", 1, 9));
    KT_SYS_ERR(mq_receive(w, b, 8, NULL), EBADF);
    close(w);
    unsigned prio = 0;
    KT_SYS_RET(mq_receive(q, b, 8, &prio), 1);
    KT_EQ(prio, 9);
    /* open(2) with O_CREAT makes a queue with the default attributes */
    int n = KT_SYS_OK(open("/kt_mqfs/kt_mq_new", O_CREAT | O_RDWR, 0640));
    KT_SYS_OK(mq_getattr(n, &a));
    KT_EQ(a.mq_maxmsg, 10);
    KT_EQ(a.mq_msgsize, 8192);
    KT_SYS_OK(fstat(n, &st));
    KT_EQ(st.st_mode, S_IFREG | 0640);
    KT_SYS_ERR(open("/kt_mqfs/kt_mq_new", O_CREAT | O_EXCL | O_RDWR, 0640), EEXIST);
    KT_SYS_ERR(mkdir("/kt_mqfs/d", 0755), EPERM);
    mqd_t n2 = KT_SYS_OK(mq_open("/kt_mq_new", O_WRONLY));
    KT_SYS_OK(mq_send(n2, "n", 1, 0));
    static char big[8192];
    KT_SYS_RET(mq_receive(n, big, sizeof big, NULL), 1);
    close(n2);
    close(n);
    KT_SYS_OK(mq_unlink("/kt_mq_new"));
    KT_EQ(kt_in_child(fs_ns_child), 0);
    /* unlink through the filesystem removes the queue */
    KT_SYS_OK(unlink("/kt_mqfs/kt_mq_fs"));
    KT_SYS_ERR(mq_open("/kt_mq_fs", O_RDWR), ENOENT);
    KT_EQ(lists("/kt_mqfs", "kt_mq_fs"), 0);
    KT_SYS_ERR(unlink("/kt_mqfs/kt_mq_fs"), ENOENT);
    /* the open descriptor still works */
    KT_SYS_RET(mq_receive(q, b, 8, NULL), 3);
    mq_close(q);
    KT_SYS_OK(umount("/kt_mqfs"));
    rmdir("/kt_mqfs");
}

/* The owner's exit takes its registration away (exit closes its
 * descriptors: mqueue_flush_file), before its parent can see the exit. */
KT_CASE(notify_goes_with_the_owners_exit) {
    mqd_t q = KT_SYS_OK(mk("/kt_mq_e", O_RDWR, 4, 8));
    pid_t c = KT_FORK();
    if (c == 0) {
        struct sigevent ev = {.sigev_notify = SIGEV_NONE};
        _exit(mq_notify(q, &ev) == 0 ? 0 : 1);
    }
    siginfo_t si;
    memset(&si, 0, sizeof si);
    KT_SYS_OK(waitid(P_PID, c, &si, WEXITED | WNOWAIT));
    KT_EQ(si.si_status, 0);
    char b[128] = {0};
    KT_SYS_OK(read(q, b, sizeof b - 1));
    KT_TRUE(strcmp(b, "QSIZE:0          NOTIFY:0     SIGNO:0     NOTIFY_PID:0     \n") == 0, "zombie's: [%s]", b);
    KT_WAIT_STATUS(c, kt_exited(0));
    struct sigevent ev = {.sigev_notify = SIGEV_NONE};
    KT_SYS_OK(mq_notify(q, &ev));
    mq_close(q);
    mq_unlink("/kt_mq_e");
}

/* A registration stays across an exec that keeps the descriptor open
 * (no close-on-exec: no flush), but it is for the program that made it
 * (self_exec_id): the next message takes it away and signals nobody. */
KT_CASE(notify_not_for_the_next_program) {
    mqd_t q = KT_SYS_OK(mk("/kt_mq_x", O_RDWR, 4, 8));
    int p[2];
    KT_SYS_OK(pipe2(p, O_CLOEXEC));
    pid_t c = KT_FORK();
    if (c == 0) {
        close(p[0]);
        if (fcntl(q, F_SETFD, 0) != 0) _exit(1);
        struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
        if (mq_notify(q, &ev) != 0) _exit(2);
        signal(SIGUSR1, SIG_DFL);
        execl(kt_self, kt_self, "kt-sleep", (char *)NULL);
        _exit(3);
    }
    close(p[1]);
    char ch;
    /* end of file: the exec closed the pipe */
    KT_SYS_RET(read(p[0], &ch, 1), 0);
    close(p[0]);
    char b[128] = {0}, w[128];
    KT_SYS_OK(read(q, b, sizeof b - 1));
    snprintf(w, sizeof w, "QSIZE:0          NOTIFY:0     SIGNO:%-5d NOTIFY_PID:%-6d\n", SIGUSR1, c);
    KT_TRUE(strcmp(b, w) == 0, "[%s] want [%s]", b, w);
    struct sigevent none = {.sigev_notify = SIGEV_NONE};
    KT_SYS_ERR(mq_notify(q, &none), EBUSY);
    KT_SYS_OK(mq_send(q, "m", 1, 0));
    kt_msleep(100);
    int st = 0;
    /* not killed by SIGUSR1 */
    KT_SYS_RET(waitpid(c, &st, WNOHANG), 0);
    KT_SYS_OK(lseek(q, 0, SEEK_SET));
    memset(b, 0, sizeof b);
    KT_SYS_OK(read(q, b, sizeof b - 1));
    KT_TRUE(strcmp(b, "QSIZE:1          NOTIFY:0     SIGNO:0     NOTIFY_PID:0     \n") == 0, "after: [%s]", b);
    KT_SYS_OK(mq_notify(q, &none));
    KT_SYS_OK(mq_notify(q, NULL));
    kill(c, SIGKILL);
    KT_WAIT_STATUS(c, kt_killed(SIGKILL));
    mq_close(q);
    mq_unlink("/kt_mq_x");
}

KT_MAIN()
