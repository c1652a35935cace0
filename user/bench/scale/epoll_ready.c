/* epoll_ready/<N>: epoll_wait(timeout 0) on an epoll set of N = 10 / 1,000 /
 * 10,000 eventfds of which one is readable (it returns that one). */
#include "scale.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>

static const char *NAME = "epoll_ready";
static int ep;

static uint64_t body(uint64_t iters, void *arg) {
    (void)arg;
    struct epoll_event ev[16];
    uint64_t t0 = bench_now();
    for (uint64_t i = 0; i < iters; i++)
        if (epoll_wait(ep, ev, 16, 0) != 1) bench_fail(NAME, "epoll_wait");
    return bench_now() - t0;
}

int main(void) {
    static const long counts[] = {10, 1000, 10000};
    scale_nofile(NAME, 20000);
    for (int s = 0; s < 3; s++) {
        ep = epoll_create1(0);
        if (ep < 0) bench_fail(NAME, "epoll_create1");
        int first = -1, last = -1;
        for (long i = 0; i < counts[s]; i++) {
            int fd = eventfd(0, EFD_NONBLOCK);
            if (fd < 0) bench_fail(NAME, "eventfd");
            if (first < 0) first = fd;
            last = fd;
            struct epoll_event e = {.events = EPOLLIN, .data.fd = fd};
            if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) != 0) bench_fail(NAME, "epoll_ctl");
        }
        /* the one ready fd is the middle one */
        uint64_t one = 1;
        if (write(first + (last - first) / 2, &one, 8) != 8) bench_fail(NAME, "write");
        scale_run(NAME, counts[s], body, 0, 1 << 24);
        for (int fd = first; fd <= last; fd++) close(fd);
        close(ep);
    }
    return 0;
}
