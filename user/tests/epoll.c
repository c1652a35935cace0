/* epoll: epoll_create/create1, epoll_ctl (ADD/MOD/DEL and their errnos),
 * epoll_wait/pwait/pwait2 over pipes, the terminal and nested epoll fds;
 * level- and edge-triggered, one-shot, exclusive; interest items vanish
 * with the last reference to their open file. */
#include "kt.h"

#include <poll.h>
#include <sys/epoll.h>

#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441
#endif

/* A kernel address: outside the user half, EFAULT before anything else. */
#define KADDR ((void *)0xffff800000000000UL)

static int ep_new(void) {
    return epoll_create1(0);
}

static int add(int ep, int fd, unsigned events, unsigned long data) {
    struct epoll_event ev = {.events = events, .data.u64 = data};
    return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static int mod(int ep, int fd, unsigned events, unsigned long data) {
    struct epoll_event ev = {.events = events, .data.u64 = data};
    return epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

/* epoll_wait with timeout 0: how many events, the first in *ev. */
static int poll0(int ep, struct epoll_event *ev) {
    return epoll_wait(ep, ev, 1, 0);
}

KT_CASE(create_rules) {
    KT_SYS_ERR(syscall(SYS_epoll_create, 0), EINVAL);
    KT_SYS_ERR(syscall(SYS_epoll_create, -1), EINVAL);
    int a = KT_SYS_OK(syscall(SYS_epoll_create, 1));
    KT_EQ(fcntl(a, F_GETFD), 0);
    KT_EQ(fcntl(a, F_GETFL) & O_ACCMODE, O_RDWR);
    KT_SYS_ERR(epoll_create1(O_NONBLOCK), EINVAL);
    KT_SYS_ERR(epoll_create1(1), EINVAL);
    int b = KT_SYS_OK(epoll_create1(EPOLL_CLOEXEC));
    KT_EQ(fcntl(b, F_GETFD), FD_CLOEXEC);
    close(a);
    close(b);
}

KT_CASE(epoll_fd_is_an_anonymous_file) {
    int ep = KT_SYS_OK(ep_new());
    struct stat st;
    KT_SYS_RET(fstat(ep, &st), 0);
    KT_EQ(st.st_mode & 07777, 0600);
    char c;
    KT_SYS_ERR(read(ep, &c, 1), EINVAL);
    KT_SYS_ERR(write(ep, "x", 1), EINVAL);
    KT_SYS_RET(lseek(ep, 5, SEEK_SET), 0); /* noop_llseek */
    close(ep);
}

KT_CASE(ctl_errnos) {
    int ep = KT_SYS_OK(ep_new());
    int p[2];
    KT_SYS_OK(pipe(p));
    struct epoll_event ev = {.events = EPOLLIN};
    KT_SYS_ERR(epoll_ctl(900, EPOLL_CTL_ADD, p[0], &ev), EBADF);
    KT_SYS_ERR(epoll_ctl(-1, EPOLL_CTL_ADD, p[0], &ev), EBADF);
    KT_SYS_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, 900, &ev), EBADF);
    KT_SYS_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, -1, &ev), EBADF);
    /* the epoll fd must be an epoll instance */
    KT_SYS_ERR(epoll_ctl(p[1], EPOLL_CTL_ADD, p[0], &ev), EINVAL);
    /* not into itself */
    KT_SYS_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev), EINVAL);
    /* absent items */
    KT_SYS_ERR(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev), ENOENT);
    KT_SYS_ERR(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], &ev), ENOENT);
    KT_SYS_RET(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), 0);
    KT_SYS_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), EEXIST);
    /* an unknown op */
    KT_SYS_ERR(epoll_ctl(ep, 99, p[0], &ev), EINVAL);
    KT_SYS_ERR(epoll_ctl(ep, 0, p[0], &ev), EINVAL);
    /* the event is read before the fds are looked at (not for DEL) */
    KT_SYS_ERR(epoll_ctl(ep, EPOLL_CTL_ADD, p[1], NULL), EFAULT);
    KT_SYS_ERR(epoll_ctl(900, EPOLL_CTL_MOD, p[1], NULL), EFAULT);
    KT_SYS_RET(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL), 0);
    KT_SYS_ERR(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL), ENOENT);
    close(p[0]);
    close(p[1]);
    close(ep);
}

KT_CASE(proc_files_with_and_without_a_poll_method) {
    int ep = KT_SYS_OK(ep_new());
    /* per-process files have no poll method; /proc/meminfo and
     * /proc/mounts have one */
    int st = KT_SYS_OK(open("/proc/self/status", O_RDONLY));
    int mi = KT_SYS_OK(open("/proc/meminfo", O_RDONLY));
    int mo = KT_SYS_OK(open("/proc/mounts", O_RDONLY));
    KT_SYS_ERR(add(ep, st, EPOLLIN, 0), EPERM);
    KT_SYS_RET(add(ep, mi, EPOLLIN, 0), 0);
    KT_SYS_RET(add(ep, mo, EPOLLIN, 0), 0);
    close(st);
    close(mi);
    close(mo);
    close(ep);
}

KT_CASE(regular_files_and_directories_are_eperm) {
    int ep = KT_SYS_OK(ep_new());
    int f = KT_SYS_OK(open("/tmp/epoll-reg", O_RDWR | O_CREAT | O_TRUNC, 0600));
    int d = KT_SYS_OK(open("/", O_RDONLY | O_DIRECTORY));
    KT_SYS_ERR(add(ep, f, EPOLLIN, 0), EPERM);
    KT_SYS_ERR(add(ep, d, EPOLLIN, 0), EPERM);
    /* the poll check comes before the epoll-fd check */
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_ERR(add(p[0], f, EPOLLIN, 0), EPERM);
    close(p[0]);
    close(p[1]);
    close(f);
    close(d);
    unlink("/tmp/epoll-reg");
    close(ep);
}

KT_CASE(exclusive_rules) {
    int ep = KT_SYS_OK(ep_new());
    int inner = KT_SYS_OK(ep_new());
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_ERR(add(ep, p[0], EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT, 0), EINVAL);
    KT_SYS_ERR(add(ep, p[0], EPOLLIN | EPOLLEXCLUSIVE | EPOLLRDHUP, 0), EINVAL);
    KT_SYS_ERR(add(ep, inner, EPOLLIN | EPOLLEXCLUSIVE, 0), EINVAL);
    KT_SYS_RET(add(ep, p[0], EPOLLIN | EPOLLEXCLUSIVE | EPOLLET, 7), 0);
    KT_SYS_ERR(mod(ep, p[0], EPOLLIN, 0), EINVAL);
    KT_SYS_ERR(mod(ep, p[0], EPOLLIN | EPOLLEXCLUSIVE, 0), EINVAL);
    KT_SYS_RET(write(p[1], "x", 1), 1);
    struct epoll_event ev;
    KT_SYS_RET(poll0(ep, &ev), 1);
    KT_EQ(ev.events, EPOLLIN);
    KT_EQ(ev.data.u64, 7);
    KT_SYS_RET(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL), 0);
    close(p[0]);
    close(p[1]);
    close(inner);
    close(ep);
}

KT_CASE(wait_errnos) {
    int ep = KT_SYS_OK(ep_new());
    int p[2];
    KT_SYS_OK(pipe(p));
    struct epoll_event ev[2];
    KT_SYS_ERR(epoll_wait(ep, ev, 0, 0), EINVAL);
    KT_SYS_ERR(epoll_wait(ep, ev, -1, 0), EINVAL);
    KT_SYS_ERR(epoll_wait(900, ev, 0, 0), EINVAL); /* maxevents first */
    KT_SYS_ERR(epoll_wait(900, ev, 1, 0), EBADF);
    KT_SYS_ERR(epoll_wait(-1, ev, 1, 0), EBADF);
    KT_SYS_ERR(epoll_wait(p[0], ev, 1, 0), EINVAL);
    KT_SYS_ERR(epoll_wait(ep, KADDR, 1, 0), EFAULT);
    KT_SYS_ERR(epoll_wait(900, KADDR, 1, 0), EFAULT); /* before the fd */
    /* nothing ready: an unmapped buffer is never touched */
    KT_SYS_RET(epoll_wait(ep, NULL, 1, 0), 0);
    /* something ready and nowhere to put it */
    KT_SYS_RET(add(ep, p[1], EPOLLOUT, 1), 0);
    KT_SYS_ERR(epoll_wait(ep, NULL, 1, 0), EFAULT);
    close(p[0]);
    close(p[1]);
    close(ep);
}

KT_CASE(pipe_read_end_level_triggered) {
    int ep = KT_SYS_OK(ep_new());
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_RET(add(ep, p[0], EPOLLIN, 42), 0);
    struct epoll_event ev[4];
    KT_SYS_RET(epoll_wait(ep, ev, 4, 0), 0);
    KT_SYS_RET(write(p[1], "abc", 3), 3);
    KT_SYS_RET(epoll_wait(ep, ev, 4, 0), 1);
    KT_EQ(ev[0].events, EPOLLIN);
    KT_EQ(ev[0].data.u64, 42);
    /* level-triggered: again and again while data is there */
    KT_SYS_RET(epoll_wait(ep, ev, 4, 1000), 1);
    KT_EQ(ev[0].events, EPOLLIN);
    char buf[8];
    KT_SYS_RET(read(p[0], buf, 8), 3);
    KT_SYS_RET(epoll_wait(ep, ev, 4, 0), 0);
    close(p[0]);
    close(p[1]);
    close(ep);
}

KT_CASE(pipe_events_with_extra_bits) {
    int ep = KT_SYS_OK(ep_new());
    int p[2];
    KT_SYS_OK(pipe(p));
    /* RDNORM is reported when asked for; RDHUP is accepted, pipes never set it */
    KT_SYS_RET(add(ep, p[0], EPOLLIN | EPOLLRDNORM | EPOLLRDHUP | EPOLLPRI, 1), 0);
    KT_SYS_RET(write(p[1], "a", 1), 1);
    struct epoll_event ev;
    KT_SYS_RET(poll0(ep, &ev), 1);
    KT_EQ(ev.events, EPOLLIN | EPOLLRDNORM);
    close(p[0]);
    close(p[1]);
    close(ep);
}

KT_CASE(pipe_write_end_out_and_err) {
    int ep = KT_SYS_OK(ep_new());
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_RET(add(ep, p[1], EPOLLOUT, 5), 0);
    struct epoll_event ev;
    KT_SYS_RET(poll0(ep, &ev), 1);
    KT_EQ(ev.events, EPOLLOUT);
    KT_EQ(ev.data.u64, 5);
    close(p[0]);
    /* EPOLLERR is always reported, even when not asked for */
    KT_SYS_RET(poll0(ep, &ev), 1);
    KT_EQ(ev.events, EPOLLOUT | EPOLLERR);
    KT_SYS_RET(mod(ep, p[1], 0, 6), 0);
    KT_SYS_RET(poll0(ep, &ev), 1);
    KT_EQ(ev.events, EPOLLERR);
    KT_EQ(ev.data.u64, 6);
    close(p[1]);
    close(ep);
}

KT_CASE(pipe_full_is_not_writable) {
    int ep = KT_SYS_OK(ep_new());
    int p[2];
    KT_SYS_OK(pipe2(p, O_NONBLOCK));
    KT_SYS_RET(add(ep, p[1], EPOLLOUT, 0), 0);
    static char big[65536];
    KT_SYS_RET(write(p[1], big, sizeof big), 65536);
    struct epoll_event ev;
    KT_SYS_RET(poll0(ep, &ev), 0);
    KT_SYS_RET(read(p[0], big, 4096), 4096);
    KT_SYS_RET(poll0(ep, &ev), 1);
    KT_EQ(ev.events, EPOLLOUT);
    close(p[0]);
    close(p[1]);
    close(ep);
}

KT_CASE(pipe_hangup) {
    int ep = KT_SYS_OK(ep_new());
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_RET(add(ep, p[0], EPOLLIN, 0), 0);
    KT_SYS_RET(write(p[1], "z", 1), 1);
    close(p[1]);
    struct epoll_event ev;
    KT_SYS_RET(poll0(ep, &ev), 1);
    KT_EQ(ev.events, EPOLLIN | EPOLLHUP);
    char c;
    KT_SYS_RET(read(p[0], &c, 1), 1);
    KT_SYS_RET(poll0(ep, &ev), 1);
    KT_EQ(ev.events, EPOLLHUP);
    /* HUP even with no events asked for */
    KT_SYS_RET(mod(ep, p[0], 0, 0), 0);
    KT_SYS_RET(poll0(ep, &ev), 1);
    KT_EQ(ev.events, EPOLLHUP);
    close(p[0]);
    close(ep);
}

KT_CASE(edge_triggered_reports_each_write_once) {
    int ep = KT_SYS_OK(ep_new());
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_RET(add(ep, p[0], EPOLLIN | EPOLLET, 9), 0);
    struct epoll_event ev;
    KT_SYS_RET(poll0(ep, &ev), 0);
    KT_SYS_RET(write(p[1], "ab", 2), 2);
    KT_SYS_RET(poll0(ep, &ev), 1);
    KT_EQ(ev.events, EPOLLIN);
    KT_EQ(ev.data.u64, 9);
    /* no new event: nothing to report although data waits */
    KT_SYS_RET(poll0(ep, &ev), 0);
    char c;
    KT_SYS_RET(read(p[0], &c, 1), 1);
    KT_SYS_RET(poll0(ep, &ev), 0);
    /* a new write is a new edge */
    KT_SYS_RET(write(p[1], "c", 1), 1);
    KT_SYS_RET(poll0(ep, &ev), 1);
    KT_EQ(ev.events, EPOLLIN);
    KT_SYS_RET(poll0(ep, &ev), 0);
    /* MOD re-arms */
    KT_SYS_RET(mod(ep, p[0], EPOLLIN | EPOLLET, 10), 0);
    KT_SYS_RET(poll0(ep, &ev), 1);
    KT_EQ(ev.data.u64, 10);
    close(p[0]);
    close(p[1]);
    close(ep);
}

KT_CASE(edge_triggered_already_ready_at_add) {
    int ep = KT_SYS_OK(ep_new());
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_RET(write(p[1], "ab", 2), 2);
    KT_SYS_RET(add(ep, p[0], EPOLLIN | EPOLLET, 1), 0);
    struct epoll_event ev;
    KT_SYS_RET(poll0(ep, &ev), 1);
    KT_SYS_RET(poll0(ep, &ev), 0);
    close(p[1]); /* the hang-up is an event */
    KT_SYS_RET(poll0(ep, &ev), 1);
    KT_EQ(ev.events, EPOLLIN | EPOLLHUP);
    KT_SYS_RET(poll0(ep, &ev), 0);
    close(p[0]);
    close(ep);
}

KT_CASE(oneshot_fires_once_until_mod) {
    int ep = KT_SYS_OK(ep_new());
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_RET(add(ep, p[0], EPOLLIN | EPOLLONESHOT, 3), 0);
    KT_SYS_RET(write(p[1], "a", 1), 1);
    struct epoll_event ev;
    KT_SYS_RET(poll0(ep, &ev), 1);
    KT_EQ(ev.events, EPOLLIN);
    KT_SYS_RET(poll0(ep, &ev), 0);
    KT_SYS_RET(write(p[1], "b", 1), 1);
    KT_SYS_RET(poll0(ep, &ev), 0);
    close(p[1]); /* not even a hang-up while disarmed */
    KT_SYS_RET(poll0(ep, &ev), 0);
    /* still registered */
    KT_SYS_ERR(add(ep, p[0], EPOLLIN, 0), EEXIST);
    KT_SYS_RET(mod(ep, p[0], EPOLLIN | EPOLLONESHOT, 4), 0);
    KT_SYS_RET(poll0(ep, &ev), 1);
    KT_EQ(ev.events, EPOLLIN | EPOLLHUP);
    KT_EQ(ev.data.u64, 4);
    KT_SYS_RET(poll0(ep, &ev), 0);
    close(p[0]);
    close(ep);
}

KT_CASE(mod_changes_events_and_data) {
    int ep = KT_SYS_OK(ep_new());
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_RET(write(p[1], "a", 1), 1);
    KT_SYS_RET(add(ep, p[0], EPOLLOUT, 1), 0); /* a read end is never writable */
    struct epoll_event ev;
    KT_SYS_RET(poll0(ep, &ev), 0);
    KT_SYS_RET(mod(ep, p[0], EPOLLIN | EPOLLOUT, 2), 0);
    KT_SYS_RET(poll0(ep, &ev), 1);
    KT_EQ(ev.events, EPOLLIN);
    KT_EQ(ev.data.u64, 2);
    KT_SYS_RET(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL), 0);
    KT_SYS_RET(poll0(ep, &ev), 0);
    close(p[0]);
    close(p[1]);
    close(ep);
}

KT_CASE(several_ready_items_take_turns) {
    int ep = KT_SYS_OK(ep_new());
    int p[3][2];
    for (int i = 0; i < 3; i++) {
        KT_SYS_OK(pipe(p[i]));
        KT_SYS_RET(write(p[i][1], "x", 1), 1);
        KT_SYS_RET(add(ep, p[i][0], EPOLLIN, 100 + i), 0);
    }
    struct epoll_event ev[4];
    KT_SYS_RET(epoll_wait(ep, ev, 4, 0), 3);
    int seen = 0;
    for (int i = 0; i < 3; i++) seen |= 1 << (ev[i].data.u64 - 100);
    KT_EQ(seen, 7);
    /* two at a time: the ready list rotates, so every item gets its turn */
    seen = 0;
    KT_SYS_RET(epoll_wait(ep, ev, 2, 0), 2);
    seen |= 1 << (ev[0].data.u64 - 100);
    seen |= 1 << (ev[1].data.u64 - 100);
    KT_SYS_RET(epoll_wait(ep, ev, 2, 0), 2);
    seen |= 1 << (ev[0].data.u64 - 100);
    seen |= 1 << (ev[1].data.u64 - 100);
    KT_EQ(seen, 7);
    for (int i = 0; i < 3; i++) {
        close(p[i][0]);
        close(p[i][1]);
    }
    close(ep);
}

KT_CASE(closing_the_last_reference_removes_the_item) {
    int ep = KT_SYS_OK(ep_new());
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_RET(write(p[1], "a", 1), 1);
    KT_SYS_RET(add(ep, p[0], EPOLLIN, 1), 0);
    int rfd = p[0];
    close(rfd);
    struct epoll_event ev;
    KT_SYS_RET(poll0(ep, &ev), 0);
    KT_SYS_ERR(epoll_ctl(ep, EPOLL_CTL_DEL, rfd, NULL), EBADF);
    /* the fd number is free again, and so is the item */
    int q[2];
    KT_SYS_OK(pipe(q));
    KT_EQ(q[0], rfd);
    KT_SYS_ERR(epoll_ctl(ep, EPOLL_CTL_DEL, q[0], NULL), ENOENT);
    KT_SYS_RET(add(ep, q[0], EPOLLIN, 2), 0);
    close(q[0]);
    close(q[1]);
    close(p[1]);
    close(ep);
}

KT_CASE(a_dup_keeps_the_item_alive) {
    int ep = KT_SYS_OK(ep_new());
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_RET(write(p[1], "a", 1), 1);
    int d = KT_SYS_OK(dup(p[0]));
    KT_SYS_RET(add(ep, p[0], EPOLLIN, 77), 0);
    int rfd = p[0];
    close(rfd);
    struct epoll_event ev;
    /* the open file lives on through the dup: still reported */
    KT_SYS_RET(poll0(ep, &ev), 1);
    KT_EQ(ev.data.u64, 77);
    KT_SYS_ERR(epoll_ctl(ep, EPOLL_CTL_DEL, rfd, NULL), EBADF);
    /* the item is keyed by (file, fd): the dup's number is another key */
    KT_SYS_ERR(epoll_ctl(ep, EPOLL_CTL_DEL, d, NULL), ENOENT);
    /* a new file under the old number is another item */
    int q[2];
    KT_SYS_OK(pipe(q));
    KT_EQ(q[0], rfd);
    KT_SYS_RET(add(ep, q[0], EPOLLIN, 78), 0);
    KT_SYS_RET(poll0(ep, &ev), 1);
    KT_EQ(ev.data.u64, 77);
    close(d);
    KT_SYS_RET(poll0(ep, &ev), 0);
    KT_SYS_RET(write(q[1], "b", 1), 1);
    KT_SYS_RET(poll0(ep, &ev), 1);
    KT_EQ(ev.data.u64, 78);
    close(q[0]);
    close(q[1]);
    close(p[1]);
    close(ep);
}

KT_CASE(epoll_fd_is_pollable_and_nests) {
    int inner = KT_SYS_OK(ep_new());
    int outer = KT_SYS_OK(ep_new());
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_RET(add(inner, p[0], EPOLLIN, 1), 0);
    KT_SYS_RET(add(outer, inner, EPOLLIN, 2), 0);
    struct pollfd pf = {.fd = inner, .events = POLLIN};
    KT_SYS_RET(poll(&pf, 1, 0), 0);
    struct epoll_event ev;
    KT_SYS_RET(poll0(outer, &ev), 0);
    KT_SYS_RET(write(p[1], "a", 1), 1);
    KT_SYS_RET(poll(&pf, 1, 0), 1);
    KT_EQ(pf.revents, POLLIN);
    KT_SYS_RET(poll0(outer, &ev), 1);
    KT_EQ(ev.events, EPOLLIN);
    KT_EQ(ev.data.u64, 2);
    KT_SYS_RET(poll0(inner, &ev), 1);
    KT_EQ(ev.data.u64, 1);
    close(p[0]);
    close(p[1]);
    close(outer);
    close(inner);
}

KT_CASE(cycles_are_eloop) {
    int a = KT_SYS_OK(ep_new());
    int b = KT_SYS_OK(ep_new());
    int c = KT_SYS_OK(ep_new());
    KT_SYS_RET(add(a, b, EPOLLIN, 0), 0);
    KT_SYS_RET(add(b, c, EPOLLIN, 0), 0);
    KT_SYS_ERR(add(b, a, EPOLLIN, 0), ELOOP);
    KT_SYS_ERR(add(c, a, EPOLLIN, 0), ELOOP);
    KT_SYS_ERR(add(c, b, EPOLLIN, 0), ELOOP);
    KT_SYS_ERR(add(a, a, EPOLLIN, 0), EINVAL);
    close(a);
    close(b);
    close(c);
}

KT_CASE(blocking_wait_wakes_on_a_write) {
    int ep = KT_SYS_OK(ep_new());
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_RET(add(ep, p[0], EPOLLIN, 11), 0);
    pid_t pid = KT_FORK();
    if (pid == 0) {
        kt_msleep(50);
        write(p[1], "w", 1);
        _exit(0);
    }
    struct epoll_event ev;
    KT_SYS_RET(epoll_wait(ep, &ev, 1, -1), 1);
    KT_EQ(ev.events, EPOLLIN);
    KT_EQ(ev.data.u64, 11);
    KT_WAIT_STATUS(pid, kt_exited(0));
    close(p[0]);
    close(p[1]);
    close(ep);
}

static long ms_since(const struct timespec *a) {
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

/* An instance watching an instance watching a pipe: a write from another
 * process wakes the outer epoll_wait (each level hears of the one below),
 * and poll(2) on the inner epoll fd. */
KT_CASE(nested_wait_and_poll_on_an_epoll_fd_wake_on_a_write) {
    int inner = KT_SYS_OK(ep_new());
    int outer = KT_SYS_OK(ep_new());
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_RET(add(inner, p[0], EPOLLIN, 1), 0);
    KT_SYS_RET(add(outer, inner, EPOLLIN, 2), 0);
    pid_t pid = KT_FORK();
    if (pid == 0) {
        kt_msleep(50);
        _exit(write(p[1], "w", 1) == 1 ? 0 : 1);
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct epoll_event ev;
    KT_SYS_RET(epoll_wait(outer, &ev, 1, 5000), 1);
    long ms = ms_since(&t0);
    KT_TRUE(ms < 2500, "woke after %ld ms", ms);
    KT_EQ(ev.events, EPOLLIN);
    KT_EQ(ev.data.u64, 2);
    KT_WAIT_STATUS(pid, kt_exited(0));
    char c;
    KT_SYS_RET(read(p[0], &c, 1), 1);
    pid = KT_FORK();
    if (pid == 0) {
        kt_msleep(50);
        _exit(write(p[1], "v", 1) == 1 ? 0 : 1);
    }
    struct pollfd pf = {.fd = inner, .events = POLLIN};
    KT_SYS_RET(poll(&pf, 1, 5000), 1);
    KT_EQ(pf.revents, POLLIN);
    KT_WAIT_STATUS(pid, kt_exited(0));
    close(p[0]);
    close(p[1]);
    close(outer);
    close(inner);
}

/* epoll_ctl(ADD) of a ready file by another process sharing the instance
 * wakes a blocked epoll_wait (Linux's ep_insert wakes the instance). */
KT_CASE(adding_a_ready_item_wakes_a_blocked_wait) {
    int ep = KT_SYS_OK(ep_new());
    pid_t pid = KT_FORK();
    if (pid == 0) {
        int q[2];
        kt_msleep(50);
        if (pipe(q) || write(q[1], "r", 1) != 1 || add(ep, q[0], EPOLLIN, 77)) _exit(1);
        /* the item lives as long as the child's pipe: give the parent time */
        kt_msleep(1000);
        _exit(0);
    }
    struct epoll_event ev;
    KT_SYS_RET(epoll_wait(ep, &ev, 1, 5000), 1);
    KT_EQ(ev.events, EPOLLIN);
    KT_EQ(ev.data.u64, 77);
    KT_WAIT_STATUS(pid, kt_exited(0));
    close(ep);
}

/* After EPOLL_CTL_DEL the pipe's traffic no longer reaches the instance. */
KT_CASE(a_deleted_item_no_longer_wakes) {
    int ep = KT_SYS_OK(ep_new());
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_RET(add(ep, p[0], EPOLLIN, 3), 0);
    KT_SYS_RET(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL), 0);
    pid_t pid = KT_FORK();
    if (pid == 0) {
        kt_msleep(20);
        _exit(write(p[1], "d", 1) == 1 ? 0 : 1);
    }
    struct epoll_event ev;
    KT_SYS_RET(epoll_wait(ep, &ev, 1, 200), 0);
    KT_WAIT_STATUS(pid, kt_exited(0));
    close(p[0]);
    close(p[1]);
    close(ep);
}

KT_CASE(timeout_expires_with_zero) {
    int ep = KT_SYS_OK(ep_new());
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_RET(add(ep, p[0], EPOLLIN, 0), 0);
    struct epoll_event ev;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    KT_SYS_RET(epoll_wait(ep, &ev, 1, 30), 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
    KT_TRUE(ms >= 29, "waited %ld ms", ms);
    close(p[0]);
    close(p[1]);
    close(ep);
}

static volatile int got_usr1;
static void on_usr1(int s) {
    (void)s;
    got_usr1++;
}

KT_CASE(pwait_mask_lets_a_pending_signal_interrupt) {
    struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    KT_SYS_RET(sigaction(SIGUSR1, &sa, NULL), 0);
    sigset_t block, old, none, now;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigemptyset(&none);
    KT_SYS_RET(sigprocmask(SIG_BLOCK, &block, &old), 0);
    int ep = KT_SYS_OK(ep_new());
    got_usr1 = 0;
    KT_SYS_RET(kill(getpid(), SIGUSR1), 0);
    struct epoll_event ev;
    /* never restarted, SA_RESTART or not */
    KT_SYS_ERR(epoll_pwait(ep, &ev, 1, -1, &none), EINTR);
    KT_EQ(got_usr1, 1);
    /* the old mask is back */
    KT_SYS_RET(sigprocmask(SIG_BLOCK, NULL, &now), 0);
    KT_EQ(sigismember(&now, SIGUSR1), 1);
    /* the same with epoll_pwait2 */
    KT_SYS_RET(kill(getpid(), SIGUSR1), 0);
    KT_SYS_ERR(syscall(SYS_epoll_pwait2, ep, &ev, 1, NULL, &none, 8), EINTR);
    KT_EQ(got_usr1, 2);
    KT_SYS_RET(sigprocmask(SIG_SETMASK, &old, NULL), 0);
    signal(SIGUSR1, SIG_DFL);
    close(ep);
}

KT_CASE(pwait_argument_checks) {
    int ep = KT_SYS_OK(ep_new());
    struct epoll_event ev;
    sigset_t none;
    sigemptyset(&none);
    KT_SYS_ERR(syscall(SYS_epoll_pwait, ep, &ev, 1, 0, &none, 4), EINVAL);
    KT_SYS_RET(syscall(SYS_epoll_pwait, ep, &ev, 1, 0, &none, 8), 0);
    KT_SYS_RET(syscall(SYS_epoll_pwait, ep, &ev, 1, 0, NULL, 0), 0);
    struct timespec zero = {0, 0}, bad = {0, 1000000000};
    KT_SYS_RET(syscall(SYS_epoll_pwait2, ep, &ev, 1, &zero, NULL, 0), 0);
    KT_SYS_ERR(syscall(SYS_epoll_pwait2, ep, &ev, 1, &bad, NULL, 0), EINVAL);
    KT_SYS_ERR(syscall(SYS_epoll_pwait2, ep, &ev, 1, KADDR, NULL, 0), EFAULT);
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_RET(add(ep, p[1], EPOLLOUT, 3), 0);
    struct timespec second = {1, 0};
    KT_SYS_RET(syscall(SYS_epoll_pwait2, ep, &ev, 1, &second, NULL, 0), 1);
    KT_EQ(ev.data.u64, 3);
    close(p[0]);
    close(p[1]);
    close(ep);
}

KT_CASE(stdout_is_writable) {
    int ep = KT_SYS_OK(ep_new());
    KT_SYS_RET(add(ep, 1, EPOLLOUT, 1), 0);
    struct epoll_event ev;
    KT_SYS_RET(epoll_wait(ep, &ev, 1, 5000), 1);
    KT_TRUE(ev.events & EPOLLOUT, "events 0x%x", ev.events);
    close(ep);
}

KT_CASE(items_survive_fork_in_the_shared_instance) {
    int ep = KT_SYS_OK(ep_new());
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_RET(add(ep, p[0], EPOLLIN, 5), 0);
    pid_t pid = KT_FORK();
    if (pid == 0) {
        /* the child shares the instance: its DEL is seen by the parent */
        _exit(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL) == 0 ? 0 : 1);
    }
    KT_WAIT_STATUS(pid, kt_exited(0));
    KT_SYS_ERR(epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL), ENOENT);
    close(p[0]);
    close(p[1]);
    close(ep);
}

KT_MAIN()
