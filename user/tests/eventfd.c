/* eventfd/eventfd2: flags, the counter's read/write rules (semaphore mode,
 * EINVAL under 8 bytes and for 0xffffffffffffffff, writes past
 * 0xfffffffffffffffe wait or EAGAIN), blocking and waking, poll/select/epoll
 * readiness (EPOLLIN/EPOLLOUT, edge-triggered), and an epoll event loop
 * mixing an eventfd, a timerfd, a signalfd and a pipe. */
#include "kt.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

static int rd(int fd, uint64_t *v) {
    return (int)read(fd, v, sizeof *v);
}

static int wr(int fd, uint64_t v) {
    return (int)write(fd, &v, sizeof v);
}

static unsigned revents(int fd, short events) {
    struct pollfd p = {.fd = fd, .events = events};
    if (poll(&p, 1, 0) < 0) return 0xdead;
    return (unsigned)p.revents;
}

/* epoll_wait with timeout `ms`: the number of events, the first's mask in *ev. */
static int ep_wait1(int ep, unsigned *ev, int ms) {
    struct epoll_event e = {0};
    int n = epoll_wait(ep, &e, 1, ms);
    if (n == 1) *ev = e.events;
    return n;
}

static int ep_add(int ep, int fd, unsigned events, uint64_t data) {
    struct epoll_event e = {.events = events, .data.u64 = data};
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
}

KT_CASE(create_flags) {
    int a = KT_SYS_OK(eventfd(0, 0));
    KT_EQ(fcntl(a, F_GETFL), O_RDWR);
    KT_EQ(fcntl(a, F_GETFD), 0);
    int b = KT_SYS_OK(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    KT_EQ(fcntl(b, F_GETFL), O_RDWR | O_NONBLOCK);
    KT_EQ(fcntl(b, F_GETFD), FD_CLOEXEC);
    KT_SYS_ERR(syscall(SYS_eventfd2, 0, 2), EINVAL);
    KT_SYS_ERR(syscall(SYS_eventfd2, 0, O_APPEND), EINVAL);
    /* eventfd(2) has no flags; initval is an unsigned int */
    int c = KT_SYS_OK(syscall(SYS_eventfd, 0x100000007UL));
    fcntl(c, F_SETFL, O_NONBLOCK);
    uint64_t v = 0;
    KT_SYS_RET(rd(c, &v), 8);
    KT_EQ(v, 7);
    close(a);
    close(b);
    close(c);
}

KT_CASE(read_takes_the_whole_count) {
    int fd = KT_SYS_OK(eventfd(5, EFD_NONBLOCK));
    KT_SYS_RET(wr(fd, 3), 8);
    KT_SYS_RET(wr(fd, 0), 8);
    uint64_t v = 0;
    char big[16];
    KT_SYS_RET(read(fd, big, sizeof big), 8);
    memcpy(&v, big, 8);
    KT_EQ(v, 8);
    KT_SYS_ERR(rd(fd, &v), EAGAIN);
    close(fd);
}

KT_CASE(semaphore_reads_one) {
    int fd = KT_SYS_OK(eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK));
    KT_SYS_RET(wr(fd, 1), 8);
    uint64_t v = 0;
    for (int i = 0; i < 3; i++) {
        v = 0;
        KT_SYS_RET(rd(fd, &v), 8);
        KT_EQ(v, 1);
    }
    KT_SYS_ERR(rd(fd, &v), EAGAIN);
    close(fd);
}

KT_CASE(short_buffers_einval) {
    int fd = KT_SYS_OK(eventfd(1, EFD_NONBLOCK));
    char b[8] = {1};
    KT_SYS_ERR(read(fd, b, 7), EINVAL);
    KT_SYS_ERR(read(fd, b, 0), EINVAL);
    KT_SYS_ERR(write(fd, b, 7), EINVAL);
    KT_SYS_ERR(write(fd, b, 0), EINVAL);
    /* the count is untouched */
    uint64_t v = 0;
    KT_SYS_RET(rd(fd, &v), 8);
    KT_EQ(v, 1);
    close(fd);
}

KT_CASE(overflow_rules) {
    int fd = KT_SYS_OK(eventfd(0, EFD_NONBLOCK));
    KT_SYS_ERR(wr(fd, 0xffffffffffffffffULL), EINVAL);
    KT_SYS_RET(wr(fd, 0xfffffffffffffffeULL), 8);
    KT_SYS_ERR(wr(fd, 1), EAGAIN);
    KT_SYS_RET(wr(fd, 0), 8);
    KT_EQ(revents(fd, POLLIN | POLLOUT), POLLIN);
    uint64_t v = 0;
    KT_SYS_RET(rd(fd, &v), 8);
    KT_EQ(v, 0xfffffffffffffffeULL);
    KT_EQ(revents(fd, POLLIN | POLLOUT), POLLOUT);
    KT_SYS_RET(wr(fd, 0xfffffffffffffffdULL), 8);
    KT_SYS_RET(wr(fd, 1), 8);
    KT_SYS_ERR(wr(fd, 1), EAGAIN);
    close(fd);
}

KT_CASE(blocking_read_woken_by_write) {
    int fd = KT_SYS_OK(eventfd(0, 0));
    pid_t c = KT_FORK();
    if (c == 0) {
        kt_msleep(50);
        uint64_t v = 42;
        _exit(write(fd, &v, 8) == 8 ? 0 : 1);
    }
    uint64_t v = 0;
    KT_SYS_RET(rd(fd, &v), 8);
    KT_EQ(v, 42);
    KT_WAIT_STATUS(c, kt_exited(0));
    close(fd);
}

KT_CASE(blocking_write_woken_by_read) {
    int fd = KT_SYS_OK(eventfd(0, 0));
    KT_SYS_RET(wr(fd, 0xfffffffffffffff0ULL), 8);
    pid_t c = KT_FORK();
    if (c == 0) {
        kt_msleep(50);
        uint64_t v = 0;
        _exit(read(fd, &v, 8) == 8 && v == 0xfffffffffffffff0ULL ? 0 : 1);
    }
    /* does not fit until the child empties the counter */
    KT_SYS_RET(wr(fd, 0x20), 8);
    KT_WAIT_STATUS(c, kt_exited(0));
    uint64_t v = 0;
    KT_SYS_RET(rd(fd, &v), 8);
    KT_EQ(v, 0x20);
    close(fd);
}

static void on_usr1(int s) {
    (void)s;
}

KT_CASE(blocking_read_eintr) {
    struct sigaction sa = {.sa_handler = on_usr1}, old;
    sigaction(SIGUSR1, &sa, &old);
    int fd = KT_SYS_OK(eventfd(0, 0));
    pid_t me = getpid();
    pid_t c = KT_FORK();
    if (c == 0) {
        kt_msleep(50);
        kill(me, SIGUSR1);
        _exit(0);
    }
    uint64_t v;
    KT_SYS_ERR(rd(fd, &v), EINTR);
    KT_WAIT_STATUS(c, kt_exited(0));
    sigaction(SIGUSR1, &old, 0);
    close(fd);
}

KT_CASE(poll_and_select) {
    int fd = KT_SYS_OK(eventfd(0, 0));
    KT_EQ(revents(fd, POLLIN | POLLOUT), POLLOUT);
    KT_EQ(revents(fd, POLLIN), 0);
    KT_SYS_RET(wr(fd, 1), 8);
    /* eventfd_poll reports EPOLLIN/EPOLLOUT only, never the *NORM bits */
    KT_EQ(revents(fd, POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM), POLLIN | POLLOUT);
    fd_set r, w;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_SET(fd, &r);
    FD_SET(fd, &w);
    struct timeval tv = {0, 0};
    KT_SYS_RET(select(fd + 1, &r, &w, 0, &tv), 2);
    close(fd);
}

KT_CASE(epoll_in_out) {
    int fd = KT_SYS_OK(eventfd(0, EFD_NONBLOCK));
    int ep = KT_SYS_OK(epoll_create1(0));
    KT_SYS_RET(ep_add(ep, fd, EPOLLIN | EPOLLOUT, 7), 0);
    unsigned ev = 0;
    KT_SYS_RET(ep_wait1(ep, &ev, 0), 1);
    KT_EQ(ev, EPOLLOUT);
    KT_SYS_RET(wr(fd, 0xfffffffffffffffeULL), 8);
    KT_SYS_RET(ep_wait1(ep, &ev, 0), 1);
    KT_EQ(ev, EPOLLIN);
    uint64_t v;
    KT_SYS_RET(rd(fd, &v), 8);
    KT_SYS_RET(wr(fd, 5), 8);
    KT_SYS_RET(ep_wait1(ep, &ev, 0), 1);
    KT_EQ(ev, EPOLLIN | EPOLLOUT);
    close(ep);
    close(fd);
}

KT_CASE(epoll_edge_triggered) {
    int fd = KT_SYS_OK(eventfd(0, EFD_NONBLOCK));
    int ep = KT_SYS_OK(epoll_create1(0));
    KT_SYS_RET(ep_add(ep, fd, EPOLLIN | EPOLLET, 1), 0);
    unsigned ev = 0;
    KT_SYS_RET(ep_wait1(ep, &ev, 0), 0);
    KT_SYS_RET(wr(fd, 1), 8);
    KT_SYS_RET(ep_wait1(ep, &ev, 0), 1);
    KT_EQ(ev, EPOLLIN);
    KT_SYS_RET(ep_wait1(ep, &ev, 0), 0);
    /* another write is a new edge although it was readable already */
    KT_SYS_RET(wr(fd, 1), 8);
    KT_SYS_RET(ep_wait1(ep, &ev, 0), 1);
    KT_EQ(ev, EPOLLIN);
    close(ep);
    close(fd);
}

KT_CASE(epoll_wait_sleeps_until_write) {
    int fd = KT_SYS_OK(eventfd(0, 0));
    int ep = KT_SYS_OK(epoll_create1(0));
    KT_SYS_RET(ep_add(ep, fd, EPOLLIN, 9), 0);
    pid_t c = KT_FORK();
    if (c == 0) {
        kt_msleep(50);
        uint64_t v = 3;
        _exit(write(fd, &v, 8) == 8 ? 0 : 1);
    }
    struct epoll_event e = {0};
    KT_SYS_RET(epoll_wait(ep, &e, 1, 5000), 1);
    KT_EQ(e.events, EPOLLIN);
    KT_EQ(e.data.u64, 9);
    KT_WAIT_STATUS(c, kt_exited(0));
    close(ep);
    close(fd);
}

KT_CASE(anonymous_inode) {
    int fd = KT_SYS_OK(eventfd(0, 0));
    struct stat st;
    KT_SYS_RET(fstat(fd, &st), 0);
    KT_EQ(st.st_mode & 07777, kt_anon_inode_mode());
    KT_EQ(st.st_mode & S_IFMT, 0);
    char path[64], link[64] = {0};
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    KT_SYS_RET(readlink(path, link, sizeof link - 1), 20);
    KT_TRUE(strcmp(link, "anon_inode:[eventfd]") == 0, "link %s", link);
    KT_SYS_RET(lseek(fd, 10, SEEK_SET), 0);
    close(fd);
}

KT_CASE(shared_across_fork) {
    int fd = KT_SYS_OK(eventfd(0, EFD_SEMAPHORE));
    pid_t c = KT_FORK();
    if (c == 0) {
        uint64_t v = 4;
        _exit(write(fd, &v, 8) == 8 ? 0 : 1);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    int n = 0;
    fcntl(fd, F_SETFL, O_NONBLOCK);
    uint64_t v;
    while (rd(fd, &v) == 8) n++;
    KT_EQ(n, 4);
    close(fd);
}

/* One epoll loop over a pipe, an eventfd, a timerfd and a signalfd: a
 * child writes the pipe, bumps the eventfd and signals us; the timer
 * fires by itself. Each source is seen with its own data. */
KT_CASE(event_loop_mixed) {
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, &old);
    int p[2];
    KT_SYS_OK(pipe2(p, O_NONBLOCK));
    int efd = KT_SYS_OK(eventfd(0, EFD_NONBLOCK));
    int tfd = KT_SYS_OK(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK));
    int sfd = KT_SYS_OK(signalfd(-1, &set, SFD_NONBLOCK));
    int ep = KT_SYS_OK(epoll_create1(0));
    KT_SYS_RET(ep_add(ep, p[0], EPOLLIN, 1), 0);
    KT_SYS_RET(ep_add(ep, efd, EPOLLIN, 2), 0);
    KT_SYS_RET(ep_add(ep, tfd, EPOLLIN, 3), 0);
    KT_SYS_RET(ep_add(ep, sfd, EPOLLIN, 4), 0);
    struct itimerspec its = {.it_value = {0, 80 * 1000000}};
    KT_SYS_RET(timerfd_settime(tfd, 0, &its, 0), 0);
    pid_t me = getpid();
    pid_t c = KT_FORK();
    if (c == 0) {
        kt_msleep(20);
        if (write(p[1], "hi", 2) != 2) _exit(1);
        uint64_t v = 11;
        if (write(efd, &v, 8) != 8) _exit(2);
        kill(me, SIGUSR2);
        _exit(0);
    }
    int seen = 0, rounds = 0;
    while (seen != 0xf && rounds++ < 20) {
        struct epoll_event evs[4];
        int n = epoll_wait(ep, evs, 4, 5000);
        KT_TRUE(n > 0, "epoll_wait %d errno %d", n, errno);
        for (int i = 0; i < n; i++) {
            KT_EQ(evs[i].events, EPOLLIN);
            uint64_t v = 0;
            switch (evs[i].data.u64) {
            case 1: {
                char b[4];
                KT_SYS_RET(read(p[0], b, sizeof b), 2);
                KT_EQ(b[0], 'h');
                break;
            }
            case 2:
                KT_SYS_RET(rd(efd, &v), 8);
                KT_EQ(v, 11);
                break;
            case 3:
                KT_SYS_RET(rd(tfd, &v), 8);
                KT_EQ(v, 1);
                break;
            case 4: {
                struct signalfd_siginfo si;
                KT_SYS_RET(read(sfd, &si, sizeof si), (long)sizeof si);
                KT_EQ(si.ssi_signo, SIGUSR2);
                KT_EQ(si.ssi_pid, c);
                break;
            }
            default:
                KT_TRUE(0, "data %llu", (unsigned long long)evs[i].data.u64);
            }
            seen |= 1 << (evs[i].data.u64 - 1);
        }
    }
    KT_EQ(seen, 0xf);
    KT_WAIT_STATUS(c, kt_exited(0));
    unsigned ev;
    KT_SYS_RET(ep_wait1(ep, &ev, 0), 0);
    close(ep);
    close(sfd);
    close(tfd);
    close(efd);
    close(p[0]);
    close(p[1]);
    sigprocmask(SIG_SETMASK, &old, 0);
}

KT_MAIN()
