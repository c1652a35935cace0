/* Readiness of AF_UNIX sockets through poll, select and epoll (Linux's
 * unix_poll and unix_dgram_poll): a listener readable with a pending
 * connection, EPOLLRDHUP/EPOLLHUP after shutdown and close, edge-triggered
 * epoll seeing every new message, a datagram sender not writable while its
 * receiver's queue is full, a sleeper in epoll_wait woken by another
 * process; MSG_WAITALL across several sends, MSG_EOR accepted. */
#include "kt.h"

#include <poll.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/un.h>

KT_CASE(unconnected_stream_is_hup) {
    int s = KT_SYS_OK(socket(AF_UNIX, SOCK_STREAM, 0));
    struct pollfd p = {.fd = s, .events = POLLIN | POLLOUT};
    KT_SYS_RET(poll(&p, 1, 0), 1);
    KT_EQ(p.revents, POLLOUT | POLLHUP);
    close(s);
    s = KT_SYS_OK(socket(AF_UNIX, SOCK_DGRAM, 0));
    p.fd = s;
    KT_SYS_RET(poll(&p, 1, 0), 1);
    KT_EQ(p.revents, POLLOUT);
    close(s);
}

KT_CASE(listener_readable_with_a_connection) {
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strcpy(a.sun_path + 1, "up-listen");
    socklen_t al = offsetof(struct sockaddr_un, sun_path) + 10;
    int l = KT_SYS_OK(socket(AF_UNIX, SOCK_STREAM, 0));
    KT_SYS_OK(bind(l, (struct sockaddr *)&a, al));
    KT_SYS_OK(listen(l, 4));
    int ep = KT_SYS_OK(epoll_create1(EPOLL_CLOEXEC));
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7};
    KT_SYS_OK(epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev));
    struct epoll_event out[2];
    KT_SYS_RET(epoll_wait(ep, out, 2, 0), 0);
    pid_t p = KT_FORK();
    if (p == 0) {
        kt_msleep(50);
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        _exit(connect(c, (struct sockaddr *)&a, al) == 0 ? 0 : 1);
    }
    KT_SYS_RET(epoll_wait(ep, out, 2, 5000), 1);
    KT_EQ(out[0].data.u32, 7);
    KT_EQ(out[0].events, EPOLLIN);
    int s = KT_SYS_OK(accept(l, 0, 0));
    KT_WAIT_STATUS(p, kt_exited(0));
    KT_SYS_RET(epoll_wait(ep, out, 2, 0), 0);
    close(s);
    close(ep);
    close(l);
}

KT_CASE(rdhup_and_hup_through_epoll) {
    int sv[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    int ep = KT_SYS_OK(epoll_create1(0));
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = sv[0]};
    KT_SYS_OK(epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev));
    struct epoll_event out[2];
    KT_SYS_RET(epoll_wait(ep, out, 2, 0), 0);
    KT_SYS_OK(shutdown(sv[1], SHUT_WR));
    KT_SYS_RET(epoll_wait(ep, out, 2, 0), 1);
    KT_EQ(out[0].events, EPOLLIN | EPOLLRDHUP);
    close(sv[1]);
    KT_SYS_RET(epoll_wait(ep, out, 2, 0), 1);
    KT_EQ(out[0].events, EPOLLIN | EPOLLRDHUP | EPOLLHUP);
    close(ep);
    close(sv[0]);
}

KT_CASE(edge_triggered_sees_each_message) {
    int sv[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    int ep = KT_SYS_OK(epoll_create1(0));
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u32 = 1};
    KT_SYS_OK(epoll_ctl(ep, EPOLL_CTL_ADD, sv[1], &ev));
    struct epoll_event out[2];
    KT_SYS_RET(send(sv[0], "a", 1, 0), 1);
    KT_SYS_RET(epoll_wait(ep, out, 2, 0), 1);
    KT_SYS_RET(epoll_wait(ep, out, 2, 0), 0);
    KT_SYS_RET(send(sv[0], "b", 1, 0), 1);
    KT_SYS_RET(epoll_wait(ep, out, 2, 0), 1);
    close(ep);
    close(sv[0]);
    close(sv[1]);
}

KT_CASE(epoll_wait_woken_by_another_process) {
    int sv[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    int ep = KT_SYS_OK(epoll_create1(0));
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 3};
    KT_SYS_OK(epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev));
    pid_t p = KT_FORK();
    if (p == 0) {
        kt_msleep(50);
        _exit(write(sv[1], "w", 1) == 1 ? 0 : 1);
    }
    struct epoll_event out[1];
    KT_SYS_RET(epoll_wait(ep, out, 1, 5000), 1);
    KT_EQ(out[0].events, EPOLLIN);
    KT_WAIT_STATUS(p, kt_exited(0));
    close(ep);
    close(sv[0]);
    close(sv[1]);
}

KT_CASE(select_on_sockets) {
    int sv[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    fd_set r, w;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_SET(sv[0], &r);
    FD_SET(sv[0], &w);
    struct timeval tv = {0, 0};
    KT_SYS_RET(select(sv[0] + 1, &r, &w, 0, &tv), 1);
    KT_TRUE(!FD_ISSET(sv[0], &r) && FD_ISSET(sv[0], &w), "only writable");
    KT_SYS_RET(send(sv[1], "s", 1, 0), 1);
    FD_SET(sv[0], &r);
    FD_SET(sv[0], &w);
    KT_SYS_RET(select(sv[0] + 1, &r, &w, 0, &tv), 2);
    close(sv[0]);
    close(sv[1]);
}

KT_CASE(dgram_sender_blocked_by_a_full_receiver) {
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strcpy(a.sun_path + 1, "up-full");
    socklen_t al = offsetof(struct sockaddr_un, sun_path) + 8;
    int r = KT_SYS_OK(socket(AF_UNIX, SOCK_DGRAM, 0));
    KT_SYS_OK(bind(r, (struct sockaddr *)&a, al));
    int s = KT_SYS_OK(socket(AF_UNIX, SOCK_DGRAM, 0));
    KT_SYS_OK(connect(s, (struct sockaddr *)&a, al));
    struct pollfd p = {.fd = s, .events = POLLOUT};
    KT_SYS_RET(poll(&p, 1, 0), 1);
    int n = 0;
    while (n < 100 && send(s, "x", 1, MSG_DONTWAIT) == 1) n++;
    KT_EQ(n, 11);
    KT_SYS_RET(poll(&p, 1, 0), 0);
    pid_t c = KT_FORK();
    if (c == 0) {
        kt_msleep(50);
        char b;
        _exit(recv(r, &b, 1, 0) == 1 ? 0 : 1);
    }
    /* the receiver's read makes the sender writable and wakes it */
    KT_SYS_RET(poll(&p, 1, 5000), 1);
    KT_EQ(p.revents, POLLOUT);
    KT_WAIT_STATUS(c, kt_exited(0));
    close(s);
    close(r);
}

KT_CASE(waitall_gathers_several_sends) {
    int sv[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    pid_t p = KT_FORK();
    if (p == 0) {
        for (int i = 0; i < 3; i++) {
            kt_msleep(20);
            if (send(sv[1], "abc", 3, 0) != 3) _exit(1);
        }
        kt_msleep(20);
        send(sv[1], "z", 1, 0);
        close(sv[1]);
        _exit(0);
    }
    close(sv[1]);
    char b[16];
    KT_SYS_RET(recv(sv[0], b, 9, MSG_WAITALL), 9);
    KT_EQ(memcmp(b, "abcabcabc", 9), 0);
    /* the end of the stream ends a MSG_WAITALL short */
    KT_SYS_RET(recv(sv[0], b, 16, MSG_WAITALL), 1);
    KT_WAIT_STATUS(p, kt_exited(0));
    close(sv[0]);
}

KT_CASE(msg_eor_accepted) {
    int sv[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    KT_SYS_RET(send(sv[0], "e", 1, MSG_EOR), 1);
    close(sv[0]);
    close(sv[1]);
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
    KT_SYS_RET(send(sv[0], "e", 1, MSG_EOR), 1);
    char b[2];
    KT_SYS_RET(recv(sv[1], b, 2, 0), 1);
    close(sv[0]);
    close(sv[1]);
}

KT_CASE(recvfrom_on_a_stream_names_the_sender) {
    struct sockaddr_un a = {.sun_family = AF_UNIX}, got;
    strcpy(a.sun_path + 1, "up-named");
    socklen_t al = offsetof(struct sockaddr_un, sun_path) + 9;
    int sv[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    KT_SYS_OK(bind(sv[0], (struct sockaddr *)&a, al));
    KT_SYS_RET(send(sv[0], "n", 1, 0), 1);
    KT_SYS_RET(send(sv[1], "m", 1, 0), 1);
    char b[2];
    socklen_t gl = sizeof got;
    KT_SYS_RET(recvfrom(sv[1], b, 2, 0, (struct sockaddr *)&got, &gl), 1);
    KT_EQ(gl, al);
    gl = sizeof got;
    KT_SYS_RET(recvfrom(sv[0], b, 2, 0, (struct sockaddr *)&got, &gl), 1);
    KT_EQ(gl, 0);
    close(sv[0]);
    close(sv[1]);
}

KT_MAIN()
