/* signalfd/signalfd4: flags and errnos, the 128-byte signalfd_siginfo
 * records for kill, tgkill, sigqueue (ssi_int/ssi_ptr), SIGCHLD
 * (ssi_status, ssi_utime/ssi_stime) and ITIMER_REAL, several records per
 * read, the dequeue order (thread queue first, synchronous signals first,
 * then the lowest number), mask updates through the existing fd,
 * blocking reads, and poll/epoll readiness that follows the reader. */
#include "kt.h"

#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/time.h>

static sigset_t saved;

/* Blocks `a` and `b` (0: none) and returns the set of both. */
static sigset_t block2(int a, int b) {
    sigset_t s;
    sigemptyset(&s);
    if (a) sigaddset(&s, a);
    if (b) sigaddset(&s, b);
    sigprocmask(SIG_BLOCK, &s, &saved);
    return s;
}

/* Drops what is pending of `s`, then restores the mask. */
static void unblock(sigset_t s) {
    struct timespec z = {0, 0};
    while (sigtimedwait(&s, 0, &z) > 0) {
    }
    sigprocmask(SIG_SETMASK, &saved, 0);
}

static unsigned revents(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
    if (poll(&p, 1, 0) < 0) return 0xdead;
    return (unsigned)p.revents;
}

KT_CASE(create_rules) {
    sigset_t s = block2(SIGUSR1, 0);
    KT_SYS_ERR(syscall(SYS_signalfd4, -1, &s, 4, 0), EINVAL);
    KT_SYS_ERR(syscall(SYS_signalfd4, -1, &s, 16, 0), EINVAL);
    KT_SYS_ERR(syscall(SYS_signalfd4, -1, (void *)8, 8, 0), EFAULT);
    KT_SYS_ERR(syscall(SYS_signalfd4, -1, &s, 8, 1), EINVAL);
    KT_SYS_ERR(syscall(SYS_signalfd4, 999, &s, 8, 0), EBADF);
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_ERR(syscall(SYS_signalfd4, p[0], &s, 8, 0), EINVAL);
    int a = KT_SYS_OK(syscall(SYS_signalfd, -1, &s, 8));
    KT_EQ(fcntl(a, F_GETFL), O_RDWR);
    KT_EQ(fcntl(a, F_GETFD), 0);
    int b = KT_SYS_OK(signalfd(-1, &s, SFD_CLOEXEC | SFD_NONBLOCK));
    KT_EQ(fcntl(b, F_GETFL), O_RDWR | O_NONBLOCK);
    KT_EQ(fcntl(b, F_GETFD), FD_CLOEXEC);
    /* SIGKILL and SIGSTOP are dropped from the mask without an error */
    uint64_t all = ~0ULL;
    int c = KT_SYS_OK(syscall(SYS_signalfd4, -1, &all, 8, 0));
    char w[8] = {0};
    KT_SYS_ERR(write(b, w, 8), EINVAL);
    struct stat st;
    KT_SYS_RET(fstat(a, &st), 0);
    KT_EQ(st.st_mode & 07777, kt_anon_inode_mode());
    KT_EQ(st.st_mode & S_IFMT, 0);
    char path[64], link[64] = {0};
    snprintf(path, sizeof path, "/proc/self/fd/%d", a);
    KT_SYS_RET(readlink(path, link, sizeof link - 1), 21);
    KT_TRUE(strcmp(link, "anon_inode:[signalfd]") == 0, "link %s", link);
    close(a);
    close(b);
    close(c);
    close(p[0]);
    close(p[1]);
    unblock(s);
}

KT_CASE(kill_record) {
    sigset_t s = block2(SIGUSR1, 0);
    int fd = KT_SYS_OK(signalfd(-1, &s, SFD_NONBLOCK));
    struct signalfd_siginfo si;
    KT_SYS_ERR(read(fd, &si, sizeof si), EAGAIN);
    KT_SYS_ERR(read(fd, &si, sizeof si - 1), EINVAL);
    KT_SYS_RET(kill(getpid(), SIGUSR1), 0);
    memset(&si, 0xee, sizeof si);
    KT_SYS_RET(read(fd, &si, sizeof si), 128);
    KT_EQ(si.ssi_signo, SIGUSR1);
    KT_EQ(si.ssi_errno, 0);
    KT_EQ(si.ssi_code, SI_USER);
    KT_EQ(si.ssi_pid, getpid());
    KT_EQ(si.ssi_uid, getuid());
    KT_EQ(si.ssi_int, 0);
    KT_EQ(si.ssi_ptr, 0);
    KT_EQ(si.ssi_status, 0);
    KT_EQ(si.ssi_addr, 0);
    /* taken: no longer pending */
    sigset_t pend;
    sigpending(&pend);
    KT_EQ(sigismember(&pend, SIGUSR1), 0);
    KT_SYS_ERR(read(fd, &si, sizeof si), EAGAIN);
    close(fd);
    unblock(s);
}

KT_CASE(sigqueue_record) {
    int rt = SIGRTMIN + 2;
    sigset_t s = block2(rt, 0);
    int fd = KT_SYS_OK(signalfd(-1, &s, SFD_NONBLOCK));
    union sigval val = {.sival_ptr = (void *)0x123456789abcdef0UL};
    KT_SYS_RET(sigqueue(getpid(), rt, val), 0);
    struct signalfd_siginfo si;
    KT_SYS_RET(read(fd, &si, sizeof si), 128);
    KT_EQ(si.ssi_signo, rt);
    KT_EQ(si.ssi_code, SI_QUEUE);
    KT_EQ(si.ssi_pid, getpid());
    KT_EQ(si.ssi_uid, getuid());
    KT_EQ(si.ssi_ptr, 0x123456789abcdef0ULL);
    KT_EQ(si.ssi_int, (int32_t)0x9abcdef0);
    close(fd);
    unblock(s);
}

KT_CASE(several_records_per_read_in_queue_order) {
    int rt = SIGRTMIN + 3;
    sigset_t s = block2(rt, 0);
    int fd = KT_SYS_OK(signalfd(-1, &s, SFD_NONBLOCK));
    for (int i = 1; i <= 3; i++) {
        union sigval v = {.sival_int = i * 10};
        KT_SYS_RET(sigqueue(getpid(), rt, v), 0);
    }
    struct signalfd_siginfo si[5];
    /* 4.5 records of room: three are there */
    KT_SYS_RET(read(fd, si, sizeof si - 64), 3 * 128);
    for (int i = 0; i < 3; i++) {
        KT_EQ(si[i].ssi_signo, rt);
        KT_EQ(si[i].ssi_int, (i + 1) * 10);
    }
    close(fd);
    unblock(s);
}

KT_CASE(thread_queue_first_then_lowest) {
    sigset_t s = block2(SIGUSR1, SIGUSR2);
    sigaddset(&s, SIGHUP);
    sigaddset(&s, SIGSEGV);
    sigprocmask(SIG_BLOCK, &s, 0);
    int fd = KT_SYS_OK(signalfd(-1, &s, SFD_NONBLOCK));
    /* process-directed SIGHUP and SIGUSR1, thread-directed SIGUSR2 */
    KT_SYS_RET(kill(getpid(), SIGUSR1), 0);
    KT_SYS_RET(kill(getpid(), SIGHUP), 0);
    KT_SYS_RET(syscall(SYS_tgkill, getpid(), gettid(), SIGUSR2), 0);
    struct signalfd_siginfo si[4];
    KT_SYS_RET(read(fd, si, sizeof si), 3 * 128);
    KT_EQ(si[0].ssi_signo, SIGUSR2);
    KT_EQ(si[0].ssi_code, SI_TKILL);
    KT_EQ(si[1].ssi_signo, SIGHUP);
    KT_EQ(si[2].ssi_signo, SIGUSR1);
    /* a synchronous signal (SIGSEGV) goes before lower numbers */
    KT_SYS_RET(kill(getpid(), SIGHUP), 0);
    KT_SYS_RET(kill(getpid(), SIGSEGV), 0);
    KT_SYS_RET(read(fd, si, sizeof si), 2 * 128);
    KT_EQ(si[0].ssi_signo, SIGSEGV);
    KT_EQ(si[1].ssi_signo, SIGHUP);
    close(fd);
    unblock(s);
}

KT_CASE(sigchld_record) {
    sigset_t s = block2(SIGCHLD, 0);
    int fd = KT_SYS_OK(signalfd(-1, &s, 0));
    pid_t c = KT_FORK();
    if (c == 0) _exit(7);
    struct signalfd_siginfo si;
    KT_SYS_RET(read(fd, &si, sizeof si), 128);
    KT_EQ(si.ssi_signo, SIGCHLD);
    KT_EQ(si.ssi_code, CLD_EXITED);
    KT_EQ(si.ssi_pid, c);
    KT_EQ(si.ssi_uid, getuid());
    KT_EQ(si.ssi_status, 7);
    KT_TRUE(si.ssi_utime < 100 && si.ssi_stime < 100, "utime %llu stime %llu", (unsigned long long)si.ssi_utime,
            (unsigned long long)si.ssi_stime);
    KT_WAIT_STATUS(c, kt_exited(7));
    /* a killed child: CLD_KILLED with the signal */
    c = KT_FORK();
    if (c == 0) {
        for (;;) pause();
    }
    kill(c, SIGTERM);
    KT_SYS_RET(read(fd, &si, sizeof si), 128);
    KT_EQ(si.ssi_code, CLD_KILLED);
    KT_EQ(si.ssi_status, SIGTERM);
    KT_EQ(si.ssi_pid, c);
    KT_WAIT_STATUS(c, kt_killed(SIGTERM));
    close(fd);
    unblock(s);
}

KT_CASE(itimer_record) {
    sigset_t s = block2(SIGALRM, 0);
    int fd = KT_SYS_OK(signalfd(-1, &s, 0));
    struct itimerval it = {.it_value = {0, 30000}};
    KT_SYS_RET(setitimer(ITIMER_REAL, &it, 0), 0);
    struct signalfd_siginfo si;
    KT_SYS_RET(read(fd, &si, sizeof si), 128);
    KT_EQ(si.ssi_signo, SIGALRM);
    KT_EQ(si.ssi_code, SI_KERNEL);
    KT_EQ(si.ssi_pid, 0);
    KT_EQ(si.ssi_uid, 0);
    close(fd);
    unblock(s);
}

KT_CASE(mask_update_through_fd) {
    sigset_t s = block2(SIGUSR1, SIGUSR2);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, SIGUSR1);
    int fd = KT_SYS_OK(signalfd(-1, &one, SFD_NONBLOCK));
    KT_SYS_RET(kill(getpid(), SIGUSR2), 0);
    KT_EQ(revents(fd), 0);
    struct signalfd_siginfo si;
    KT_SYS_ERR(read(fd, &si, sizeof si), EAGAIN);
    sigset_t two;
    sigemptyset(&two);
    sigaddset(&two, SIGUSR2);
    /* the flags of an update are ignored except for their check */
    KT_SYS_RET(signalfd(fd, &two, 0), fd);
    KT_EQ(fcntl(fd, F_GETFL), O_RDWR | O_NONBLOCK);
    KT_EQ(revents(fd), POLLIN);
    KT_SYS_RET(read(fd, &si, sizeof si), 128);
    KT_EQ(si.ssi_signo, SIGUSR2);
    close(fd);
    unblock(s);
}

KT_CASE(blocking_read_woken_by_signal) {
    sigset_t s = block2(SIGUSR1, 0);
    int fd = KT_SYS_OK(signalfd(-1, &s, 0));
    pid_t me = getpid();
    pid_t c = KT_FORK();
    if (c == 0) {
        kt_msleep(50);
        kill(me, SIGUSR1);
        _exit(0);
    }
    struct signalfd_siginfo si;
    KT_SYS_RET(read(fd, &si, sizeof si), 128);
    KT_EQ(si.ssi_signo, SIGUSR1);
    KT_EQ(si.ssi_pid, c);
    KT_WAIT_STATUS(c, kt_exited(0));
    close(fd);
    unblock(s);
}

static void on_usr2(int s) {
    (void)s;
}

KT_CASE(blocking_read_eintr_on_other_signal) {
    sigset_t s = block2(SIGUSR1, 0);
    struct sigaction sa = {.sa_handler = on_usr2}, old;
    sigaction(SIGUSR2, &sa, &old);
    int fd = KT_SYS_OK(signalfd(-1, &s, 0));
    pid_t me = getpid();
    pid_t c = KT_FORK();
    if (c == 0) {
        kt_msleep(50);
        kill(me, SIGUSR2);
        _exit(0);
    }
    struct signalfd_siginfo si;
    KT_SYS_ERR(read(fd, &si, sizeof si), EINTR);
    KT_WAIT_STATUS(c, kt_exited(0));
    sigaction(SIGUSR2, &old, 0);
    close(fd);
    unblock(s);
}

/* Readiness is the reader's: a forked child (whose pending set is empty)
 * polls the same file as not ready while the parent sees POLLIN. */
KT_CASE(poll_follows_the_reader) {
    sigset_t s = block2(SIGUSR1, 0);
    int fd = KT_SYS_OK(signalfd(-1, &s, SFD_NONBLOCK));
    KT_SYS_RET(kill(getpid(), SIGUSR1), 0);
    KT_EQ(revents(fd), POLLIN);
    pid_t c = KT_FORK();
    if (c == 0) {
        struct signalfd_siginfo si;
        if (revents(fd) != 0) _exit(1);
        if (read(fd, &si, sizeof si) != -1 || errno != EAGAIN) _exit(2);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    struct signalfd_siginfo si;
    KT_SYS_RET(read(fd, &si, sizeof si), 128);
    KT_EQ(si.ssi_signo, SIGUSR1);
    KT_EQ(revents(fd), 0);
    close(fd);
    unblock(s);
}

KT_CASE(epoll_readiness) {
    sigset_t s = block2(SIGUSR1, 0);
    int fd = KT_SYS_OK(signalfd(-1, &s, SFD_NONBLOCK));
    int ep = KT_SYS_OK(epoll_create1(0));
    struct epoll_event e = {.events = EPOLLIN | EPOLLOUT, .data.u64 = 4};
    KT_SYS_RET(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e), 0);
    KT_SYS_RET(epoll_wait(ep, &e, 1, 0), 0);
    KT_SYS_RET(kill(getpid(), SIGUSR1), 0);
    memset(&e, 0, sizeof e);
    KT_SYS_RET(epoll_wait(ep, &e, 1, 0), 1);
    KT_EQ(e.events, EPOLLIN);
    KT_EQ(e.data.u64, 4);
    struct signalfd_siginfo si;
    KT_SYS_RET(read(fd, &si, sizeof si), 128);
    KT_SYS_RET(epoll_wait(ep, &e, 1, 0), 0);
    /* a sleeping epoll_wait is woken by a signal queued later */
    pid_t me = getpid();
    pid_t c = KT_FORK();
    if (c == 0) {
        kt_msleep(50);
        kill(me, SIGUSR1);
        _exit(0);
    }
    KT_SYS_RET(epoll_wait(ep, &e, 1, 5000), 1);
    KT_EQ(e.events, EPOLLIN);
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_SYS_RET(read(fd, &si, sizeof si), 128);
    KT_EQ(si.ssi_pid, c);
    close(ep);
    close(fd);
    unblock(s);
}

struct peer {
    int fd;
    pid_t tid;
    volatile int go, ready;
    int got, got_errno;
};

static void *peer_main(void *arg) {
    struct peer *p = arg;
    p->tid = gettid();
    p->ready = 1;
    while (!p->go) sched_yield();
    struct signalfd_siginfo si;
    if (read(p->fd, &si, sizeof si) == 128) {
        p->got = (int)si.ssi_signo;
    } else {
        p->got = -1;
        p->got_errno = errno;
    }
    return 0;
}

/* A thread-directed signal is read only by its thread: the main thread
 * finds nothing, the target thread reads it; a process-directed one is
 * read by whoever reads first. */
KT_CASE(thread_directed_signal_is_read_by_its_thread) {
    sigset_t s = block2(SIGUSR1, SIGUSR2);
    int fd = KT_SYS_OK(signalfd(-1, &s, SFD_NONBLOCK));
    static struct peer peer;
    memset(&peer, 0, sizeof peer);
    peer.fd = fd;
    pthread_t th;
    KT_EQ(pthread_create(&th, 0, peer_main, &peer), 0);
    while (!peer.ready) sched_yield();
    KT_SYS_RET(syscall(SYS_tgkill, getpid(), peer.tid, SIGUSR2), 0);
    struct signalfd_siginfo si;
    KT_EQ(revents(fd), 0);
    KT_SYS_ERR(read(fd, &si, sizeof si), EAGAIN);
    peer.go = 1;
    KT_EQ(pthread_join(th, 0), 0);
    KT_EQ(peer.got, SIGUSR2);
    KT_SYS_RET(kill(getpid(), SIGUSR1), 0);
    KT_SYS_RET(read(fd, &si, sizeof si), 128);
    KT_EQ(si.ssi_signo, SIGUSR1);
    close(fd);
    unblock(s);
}

/* After fork the child reads its own signals through the inherited file. */
KT_CASE(inherited_fd_reads_the_childs_signals) {
    sigset_t s = block2(SIGUSR1, 0);
    int fd = KT_SYS_OK(signalfd(-1, &s, 0));
    pid_t c = KT_FORK();
    if (c == 0) {
        kill(getpid(), SIGUSR1);
        struct signalfd_siginfo si;
        if (read(fd, &si, sizeof si) != 128) _exit(1);
        _exit(si.ssi_signo == SIGUSR1 && si.ssi_pid == (uint32_t)getpid() ? 0 : 2);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    sigset_t pend;
    sigpending(&pend);
    KT_EQ(sigismember(&pend, SIGUSR1), 0);
    close(fd);
    unblock(s);
}

KT_MAIN()
