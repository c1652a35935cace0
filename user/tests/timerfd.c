/* timerfd_create/settime/gettime: clocks and flags, the errno rules, one-shot
 * and periodic timers (expirations counted when many passed, gettime's
 * remaining time and old values), TFD_TIMER_ABSTIME on MONOTONIC and
 * REALTIME, TFD_TIMER_CANCEL_ON_SET with clock_settime, TFD_IOC_SET_TICKS,
 * blocking reads and poll/epoll readiness. */
#include "kt.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <sys/timerfd.h>

#ifndef CLOCK_BOOTTIME_ALARM
#define CLOCK_BOOTTIME_ALARM 9
#endif
#ifndef CLOCK_REALTIME_ALARM
#define CLOCK_REALTIME_ALARM 8
#endif
#ifndef TFD_TIMER_CANCEL_ON_SET
#define TFD_TIMER_CANCEL_ON_SET 2
#endif
#define KT_TFD_IOC_SET_TICKS 0x40085400UL

#define MS 1000000L

static long long now_ns(clockid_t c) {
    struct timespec ts;
    clock_gettime(c, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static struct timespec ts_of(long long ns) {
    struct timespec t = {ns / 1000000000LL, ns % 1000000000LL};
    return t;
}

static long long ns_of(struct timespec t) {
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int arm(int fd, int flags, long long value, long long interval) {
    struct itimerspec its = {.it_interval = ts_of(interval), .it_value = ts_of(value)};
    return timerfd_settime(fd, flags, &its, 0);
}

static int rd(int fd, uint64_t *v) {
    return (int)read(fd, v, sizeof *v);
}

static unsigned revents(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
    if (poll(&p, 1, 0) < 0) return 0xdead;
    return (unsigned)p.revents;
}

/* Waits up to 2 s for the timer to have fired: an expiry time that has
 * already passed fires from Linux's timer interrupt just after settime. */
static int wait_ready(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 2000) == 1 && p.revents == POLLIN;
}

KT_CASE(create_rules) {
    KT_SYS_ERR(timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0), EINVAL);
    KT_SYS_ERR(timerfd_create(CLOCK_MONOTONIC_RAW, 0), EINVAL);
    KT_SYS_ERR(timerfd_create(-1, 0), EINVAL);
    KT_SYS_ERR(timerfd_create(CLOCK_MONOTONIC, 1), EINVAL);
    int a = KT_SYS_OK(timerfd_create(CLOCK_MONOTONIC, 0));
    KT_EQ(fcntl(a, F_GETFL), O_RDWR);
    KT_EQ(fcntl(a, F_GETFD), 0);
    int b = KT_SYS_OK(timerfd_create(CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK));
    KT_EQ(fcntl(b, F_GETFL), O_RDWR | O_NONBLOCK);
    KT_EQ(fcntl(b, F_GETFD), FD_CLOEXEC);
    int c = KT_SYS_OK(timerfd_create(CLOCK_BOOTTIME, 0));
    close(a);
    close(b);
    close(c);
}

KT_CASE(alarm_clocks_need_cap_wake_alarm) {
    /* root has CAP_WAKE_ALARM */
    int a = KT_SYS_OK(timerfd_create(CLOCK_REALTIME_ALARM, 0));
    int b = KT_SYS_OK(timerfd_create(CLOCK_BOOTTIME_ALARM, 0));
    close(a);
    close(b);
    pid_t c = KT_FORK();
    if (c == 0) {
        if (setuid(1000) != 0) _exit(3);
        if (timerfd_create(CLOCK_BOOTTIME_ALARM, 0) != -1 || errno != EPERM) _exit(1);
        if (timerfd_create(CLOCK_REALTIME_ALARM, 0) != -1 || errno != EPERM) _exit(2);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

KT_CASE(settime_gettime_errnos) {
    int fd = KT_SYS_OK(timerfd_create(CLOCK_MONOTONIC, 0));
    int p[2];
    KT_SYS_OK(pipe(p));
    struct itimerspec its = {.it_value = {1, 0}}, cur;
    KT_SYS_ERR(timerfd_settime(fd, 4, &its, 0), EINVAL);
    its.it_value.tv_nsec = 1000000000;
    KT_SYS_ERR(timerfd_settime(fd, 0, &its, 0), EINVAL);
    its.it_value.tv_nsec = 0;
    its.it_interval.tv_sec = -1;
    KT_SYS_ERR(timerfd_settime(fd, 0, &its, 0), EINVAL);
    its.it_interval.tv_sec = 0;
    KT_SYS_ERR(timerfd_settime(fd, 0, 0, 0), EFAULT);
    KT_SYS_ERR(timerfd_settime(p[0], 0, &its, 0), EINVAL);
    KT_SYS_ERR(timerfd_settime(999, 0, &its, 0), EBADF);
    KT_SYS_ERR(timerfd_gettime(p[0], &cur), EINVAL);
    KT_SYS_ERR(timerfd_gettime(999, &cur), EBADF);
    KT_SYS_ERR(timerfd_gettime(fd, 0), EFAULT);
    close(p[0]);
    close(p[1]);
    close(fd);
}

KT_CASE(disarmed_timer) {
    int fd = KT_SYS_OK(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK));
    struct itimerspec cur;
    memset(&cur, 0xff, sizeof cur);
    KT_SYS_RET(timerfd_gettime(fd, &cur), 0);
    KT_EQ(ns_of(cur.it_value), 0);
    KT_EQ(ns_of(cur.it_interval), 0);
    uint64_t v;
    KT_SYS_ERR(rd(fd, &v), EAGAIN);
    char b[8];
    KT_SYS_ERR(read(fd, b, 7), EINVAL);
    KT_SYS_ERR(write(fd, b, 8), EINVAL);
    KT_EQ(revents(fd), 0);
    close(fd);
}

KT_CASE(one_shot_blocking_read) {
    int fd = KT_SYS_OK(timerfd_create(CLOCK_MONOTONIC, 0));
    long long t0 = now_ns(CLOCK_MONOTONIC);
    KT_SYS_RET(arm(fd, 0, 60 * MS, 0), 0);
    struct itimerspec cur;
    KT_SYS_RET(timerfd_gettime(fd, &cur), 0);
    KT_TRUE(ns_of(cur.it_value) > 0 && ns_of(cur.it_value) <= 60 * MS, "value %lld", ns_of(cur.it_value));
    KT_EQ(ns_of(cur.it_interval), 0);
    uint64_t v = 0;
    KT_SYS_RET(rd(fd, &v), 8);
    KT_EQ(v, 1);
    long long waited = now_ns(CLOCK_MONOTONIC) - t0;
    KT_TRUE(waited >= 60 * MS, "woke after %lld ns", waited);
    KT_SYS_RET(timerfd_gettime(fd, &cur), 0);
    KT_EQ(ns_of(cur.it_value), 0);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    KT_SYS_ERR(rd(fd, &v), EAGAIN);
    close(fd);
}

/* An absolute start 5.5 s in the past with a 1 s interval: six expirations
 * (-5.5 s ... -0.5 s) are due at once, the next is 0.5 s ahead.
 * (CLOCK_REALTIME: the monotonic clock may be younger than 5.5 s.) */
KT_CASE(periodic_counts_expirations_that_passed) {
    int fd = KT_SYS_OK(timerfd_create(CLOCK_REALTIME, 0));
    long long now = now_ns(CLOCK_REALTIME);
    KT_SYS_RET(arm(fd, TFD_TIMER_ABSTIME, now - 5500 * MS, 1000 * MS), 0);
    uint64_t v = 0;
    KT_SYS_RET(rd(fd, &v), 8);
    KT_EQ(v, 6);
    struct itimerspec cur;
    KT_SYS_RET(timerfd_gettime(fd, &cur), 0);
    KT_EQ(ns_of(cur.it_interval), 1000 * MS);
    long long left = ns_of(cur.it_value), want = now + 500 * MS - now_ns(CLOCK_REALTIME);
    KT_TRUE(left > 0 && left <= 500 * MS && left - want < 2 * MS && want - left < 2 * MS, "left %lld want %lld", left,
            want);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    KT_SYS_ERR(rd(fd, &v), EAGAIN);
    close(fd);
}

/* A 20 ms period left unread for a while: one read returns every
 * expiration since the start, measured on both sides of the read. */
KT_CASE(periodic_many_expirations_one_read) {
    int fd = KT_SYS_OK(timerfd_create(CLOCK_MONOTONIC, 0));
    long long t0 = now_ns(CLOCK_MONOTONIC);
    KT_SYS_RET(arm(fd, TFD_TIMER_ABSTIME, t0 + 20 * MS, 20 * MS), 0);
    kt_msleep(210);
    long long before = now_ns(CLOCK_MONOTONIC);
    uint64_t v = 0;
    KT_SYS_RET(rd(fd, &v), 8);
    long long after = now_ns(CLOCK_MONOTONIC);
    long long lo = (before - t0) / (20 * MS), hi = (after - t0) / (20 * MS);
    KT_TRUE((long long)v >= lo && (long long)v <= hi, "got %llu, want %lld..%lld", (unsigned long long)v, lo, hi);
    /* the next read blocks until the next period: exactly 1 */
    KT_SYS_RET(rd(fd, &v), 8);
    KT_EQ(v, 1);
    close(fd);
}

KT_CASE(gettime_keeps_count_for_read) {
    int fd = KT_SYS_OK(timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK));
    long long now = now_ns(CLOCK_REALTIME);
    KT_SYS_RET(arm(fd, TFD_TIMER_ABSTIME, now - 2500 * MS, 1000 * MS), 0);
    KT_TRUE(wait_ready(fd), "not ready");
    struct itimerspec cur;
    KT_SYS_RET(timerfd_gettime(fd, &cur), 0);
    KT_TRUE(ns_of(cur.it_value) > 0 && ns_of(cur.it_value) <= 500 * MS, "value %lld", ns_of(cur.it_value));
    uint64_t v = 0;
    KT_SYS_RET(rd(fd, &v), 8);
    KT_EQ(v, 3);
    close(fd);
}

KT_CASE(settime_old_value_and_reset) {
    int fd = KT_SYS_OK(timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK));
    KT_SYS_RET(arm(fd, 0, 10000 * MS, 2000 * MS), 0);
    struct itimerspec its = {.it_value = {20, 0}}, old;
    memset(&old, 0xff, sizeof old);
    KT_SYS_RET(timerfd_settime(fd, 0, &its, &old), 0);
    KT_EQ(ns_of(old.it_interval), 2000 * MS);
    KT_TRUE(ns_of(old.it_value) > 9000 * MS && ns_of(old.it_value) <= 10000 * MS, "old %lld", ns_of(old.it_value));
    /* an expired, unread timer loses its count when set again */
    long long now = now_ns(CLOCK_REALTIME);
    KT_SYS_RET(arm(fd, TFD_TIMER_ABSTIME, now - 1000 * MS, 0), 0);
    KT_TRUE(wait_ready(fd), "not ready");
    struct itimerspec zero = {{0, 0}, {0, 0}};
    KT_SYS_RET(timerfd_settime(fd, 0, &zero, &old), 0);
    KT_EQ(ns_of(old.it_value), 0);
    KT_EQ(ns_of(old.it_interval), 0);
    uint64_t v;
    KT_SYS_ERR(rd(fd, &v), EAGAIN);
    KT_EQ(revents(fd), 0);
    close(fd);
}

KT_CASE(realtime_absolute) {
    int fd = KT_SYS_OK(timerfd_create(CLOCK_REALTIME, 0));
    long long t0 = now_ns(CLOCK_REALTIME);
    KT_SYS_RET(arm(fd, TFD_TIMER_ABSTIME, t0 + 50 * MS, 0), 0);
    uint64_t v = 0;
    KT_SYS_RET(rd(fd, &v), 8);
    KT_EQ(v, 1);
    KT_TRUE(now_ns(CLOCK_REALTIME) >= t0 + 50 * MS, "early");
    /* a realtime time in the past fires at once */
    KT_SYS_RET(arm(fd, TFD_TIMER_ABSTIME, t0 - 1000 * MS, 0), 0);
    KT_TRUE(wait_ready(fd), "not ready");
    KT_SYS_RET(rd(fd, &v), 8);
    KT_EQ(v, 1);
    close(fd);
}

KT_CASE(cancel_on_set) {
    int fd = KT_SYS_OK(timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK));
    int plain = KT_SYS_OK(timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK));
    int mono = KT_SYS_OK(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK));
    long long t = now_ns(CLOCK_REALTIME);
    KT_SYS_RET(arm(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, t + 100000 * MS, 0), 0);
    KT_SYS_RET(arm(plain, TFD_TIMER_ABSTIME, t + 100000 * MS, 0), 0);
    /* CANCEL_ON_SET without ABSTIME or on MONOTONIC does nothing */
    KT_SYS_RET(arm(mono, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, now_ns(CLOCK_MONOTONIC) + 100000 * MS, 0), 0);
    KT_EQ(revents(fd), 0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    KT_SYS_RET(clock_settime(CLOCK_REALTIME, &ts), 0);
    KT_EQ(revents(fd), POLLIN);
    KT_EQ(revents(plain), 0);
    KT_EQ(revents(mono), 0);
    uint64_t v;
    KT_SYS_ERR(rd(fd, &v), ECANCELED);
    KT_SYS_ERR(rd(fd, &v), EAGAIN);
    KT_SYS_ERR(rd(plain, &v), EAGAIN);
    KT_SYS_ERR(rd(mono, &v), EAGAIN);
    /* the timer itself stays armed */
    struct itimerspec cur;
    KT_SYS_RET(timerfd_gettime(fd, &cur), 0);
    KT_TRUE(ns_of(cur.it_value) > 90000 * MS, "value %lld", ns_of(cur.it_value));
    close(fd);
    close(plain);
    close(mono);
}

KT_CASE(cancel_on_settimeofday) {
    int fd = KT_SYS_OK(timerfd_create(CLOCK_REALTIME_ALARM, TFD_NONBLOCK));
    KT_SYS_RET(arm(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, now_ns(CLOCK_REALTIME) + 100000 * MS, 0), 0);
    struct timeval tv;
    gettimeofday(&tv, 0);
    KT_SYS_RET(settimeofday(&tv, 0), 0);
    uint64_t v;
    KT_SYS_ERR(rd(fd, &v), ECANCELED);
    /* set again: cancel-on-set holds for the new setting too */
    KT_SYS_RET(arm(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, now_ns(CLOCK_REALTIME) + 100000 * MS, 0), 0);
    KT_SYS_ERR(rd(fd, &v), EAGAIN);
    gettimeofday(&tv, 0);
    KT_SYS_RET(settimeofday(&tv, 0), 0);
    KT_SYS_ERR(rd(fd, &v), ECANCELED);
    close(fd);
}

/* A realtime deadline follows the clock: setting the clock past it fires
 * the timer; a monotonic timer does not move. */
KT_CASE(realtime_timer_follows_clock_set) {
    int rt = KT_SYS_OK(timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK));
    int mono = KT_SYS_OK(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK));
    KT_SYS_RET(arm(rt, TFD_TIMER_ABSTIME, now_ns(CLOCK_REALTIME) + 5000 * MS, 0), 0);
    KT_SYS_RET(arm(mono, 0, 5000 * MS, 0), 0);
    struct timespec ts = ts_of(now_ns(CLOCK_REALTIME) + 10000 * MS);
    KT_SYS_RET(clock_settime(CLOCK_REALTIME, &ts), 0);
    int ready = wait_ready(rt);
    ts = ts_of(now_ns(CLOCK_REALTIME) - 10000 * MS);
    KT_SYS_RET(clock_settime(CLOCK_REALTIME, &ts), 0);
    KT_TRUE(ready, "not fired");
    uint64_t v = 0;
    KT_SYS_RET(rd(rt, &v), 8);
    KT_EQ(v, 1);
    KT_SYS_ERR(rd(mono, &v), EAGAIN);
    struct itimerspec cur;
    KT_SYS_RET(timerfd_gettime(mono, &cur), 0);
    KT_TRUE(ns_of(cur.it_value) > 4000 * MS, "value %lld", ns_of(cur.it_value));
    close(rt);
    close(mono);
}

KT_CASE(epoll_edge_triggered_per_expiry) {
    int fd = KT_SYS_OK(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK));
    int ep = KT_SYS_OK(epoll_create1(0));
    struct epoll_event e = {.events = EPOLLIN | EPOLLET};
    KT_SYS_RET(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e), 0);
    KT_SYS_RET(arm(fd, 0, 20 * MS, 20 * MS), 0);
    KT_SYS_RET(epoll_wait(ep, &e, 1, 5000), 1);
    KT_EQ(e.events, EPOLLIN);
    /* not read: no new edge until the timer is read and fires again */
    KT_SYS_RET(epoll_wait(ep, &e, 1, 100), 0);
    uint64_t v = 0;
    KT_SYS_RET(rd(fd, &v), 8);
    KT_TRUE(v >= 5, "got %llu", (unsigned long long)v);
    KT_SYS_RET(epoll_wait(ep, &e, 1, 5000), 1);
    KT_EQ(e.events, EPOLLIN);
    close(ep);
    close(fd);
}

KT_CASE(set_ticks_ioctl) {
    int fd = KT_SYS_OK(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK));
    uint64_t n = 0;
    KT_SYS_ERR(ioctl(fd, KT_TFD_IOC_SET_TICKS, &n), EINVAL);
    n = 5;
    KT_SYS_RET(ioctl(fd, KT_TFD_IOC_SET_TICKS, &n), 0);
    KT_EQ(revents(fd), POLLIN);
    uint64_t v = 0;
    KT_SYS_RET(rd(fd, &v), 8);
    KT_EQ(v, 5);
    KT_SYS_ERR(ioctl(fd, KT_TFD_IOC_SET_TICKS, (void *)8), EFAULT);
    KT_SYS_ERR(ioctl(fd, 0x5401 /* TCGETS */, &n), ENOTTY);
    close(fd);
}

KT_CASE(epoll_wakes_at_expiry) {
    int fd = KT_SYS_OK(timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK));
    int ep = KT_SYS_OK(epoll_create1(0));
    struct epoll_event e = {.events = EPOLLIN, .data.u64 = 5};
    KT_SYS_RET(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e), 0);
    KT_SYS_RET(epoll_wait(ep, &e, 1, 0), 0);
    long long t0 = now_ns(CLOCK_MONOTONIC);
    KT_SYS_RET(arm(fd, 0, 50 * MS, 0), 0);
    memset(&e, 0, sizeof e);
    KT_SYS_RET(epoll_wait(ep, &e, 1, 5000), 1);
    KT_EQ(e.events, EPOLLIN);
    KT_EQ(e.data.u64, 5);
    KT_TRUE(now_ns(CLOCK_MONOTONIC) - t0 >= 50 * MS, "early");
    uint64_t v = 0;
    KT_SYS_RET(rd(fd, &v), 8);
    KT_EQ(v, 1);
    KT_SYS_RET(epoll_wait(ep, &e, 1, 0), 0);
    close(ep);
    close(fd);
}

KT_CASE(poll_sleeps_until_expiry) {
    int fd = KT_SYS_OK(timerfd_create(CLOCK_BOOTTIME, 0));
    KT_SYS_RET(arm(fd, 0, 30 * MS, 0), 0);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    KT_SYS_RET(poll(&p, 1, 5000), 1);
    KT_EQ(p.revents, POLLIN);
    close(fd);
}

KT_CASE(anonymous_inode) {
    int fd = KT_SYS_OK(timerfd_create(CLOCK_MONOTONIC, 0));
    struct stat st;
    KT_SYS_RET(fstat(fd, &st), 0);
    KT_EQ(st.st_mode & 07777, kt_anon_inode_mode());
    KT_EQ(st.st_mode & S_IFMT, 0);
    char path[64], link[64] = {0};
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    KT_SYS_RET(readlink(path, link, sizeof link - 1), 20);
    KT_TRUE(strcmp(link, "anon_inode:[timerfd]") == 0, "link %s", link);
    close(fd);
}

KT_MAIN()
