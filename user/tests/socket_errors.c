/* The generic errors of the socket calls, in Linux's order: socket(2)'s
 * EINVAL/EAFNOSUPPORT/ESOCKTNOSUPPORT/EPROTONOSUPPORT, EBADF and ENOTSOCK
 * for every call, EFAULT and EINVAL of addresses and lengths (connect
 * copies the address before it looks at the file, bind after), sendto's
 * buffer checked first, msghdr and iovec errors, ENOTCONN/EISCONN/
 * EOPNOTSUPP of streams. */
#include "kt.h"

#include <stddef.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

KT_CASE(socket_create_errors) {
    KT_SYS_ERR(socket(AF_UNIX, SOCK_STREAM | 0x10000, 0), EINVAL);
    KT_SYS_ERR(socket(-1, SOCK_STREAM, 0), EAFNOSUPPORT);
    KT_SYS_ERR(socket(46, SOCK_STREAM, 0), EAFNOSUPPORT);
    KT_SYS_ERR(socket(1000, SOCK_STREAM, 0), EAFNOSUPPORT);
    KT_SYS_ERR(socket(AF_UNIX, 11, 0), EINVAL);
    KT_SYS_ERR(socket(AF_UNIX, 15, 0), EINVAL);
    KT_SYS_ERR(socket(AF_UNIX, 0, 0), ESOCKTNOSUPPORT);
    KT_SYS_ERR(socket(AF_UNIX, SOCK_RDM, 0), ESOCKTNOSUPPORT);
    KT_SYS_ERR(socket(AF_UNIX, SOCK_STREAM, 2), EPROTONOSUPPORT);
    KT_SYS_ERR(socket(AF_UNIX, SOCK_STREAM, -1), EPROTONOSUPPORT);
    int sv[2];
    KT_SYS_ERR(socketpair(AF_UNIX, SOCK_STREAM, 0, (int *)1), EFAULT);
    KT_SYS_ERR(socketpair(46, SOCK_STREAM, 0, sv), EAFNOSUPPORT);
    KT_SYS_ERR(socketpair(AF_UNIX, SOCK_STREAM | 0x10000, 0, sv), EINVAL);
    KT_SYS_ERR(socketpair(AF_UNIX, SOCK_STREAM, 7, sv), EPROTONOSUPPORT);
}

KT_CASE(ebadf_everywhere) {
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    socklen_t l = sizeof a;
    char b[4];
    int v;
    struct msghdr m = {0};
    KT_SYS_ERR(bind(-1, (struct sockaddr *)&a, l), EBADF);
    KT_SYS_ERR(connect(99, (struct sockaddr *)&a, l), EBADF);
    KT_SYS_ERR(listen(99, 1), EBADF);
    KT_SYS_ERR(accept(99, 0, 0), EBADF);
    KT_SYS_ERR(getsockname(99, (struct sockaddr *)&a, &l), EBADF);
    KT_SYS_ERR(getpeername(99, (struct sockaddr *)&a, &l), EBADF);
    KT_SYS_ERR(shutdown(99, SHUT_RD), EBADF);
    KT_SYS_ERR(send(99, b, 1, 0), EBADF);
    KT_SYS_ERR(recv(99, b, 1, 0), EBADF);
    KT_SYS_ERR(sendmsg(99, &m, 0), EBADF);
    KT_SYS_ERR(recvmsg(99, &m, 0), EBADF);
    KT_SYS_ERR(setsockopt(99, SOL_SOCKET, SO_SNDBUF, &v, 4), EBADF);
    l = 4;
    KT_SYS_ERR(getsockopt(99, SOL_SOCKET, SO_TYPE, &v, &l), EBADF);
}

KT_CASE(enotsock_everywhere) {
    int p[2];
    KT_SYS_OK(pipe(p));
    int f = p[0];
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    socklen_t l = sizeof a;
    char b[4];
    int v;
    struct msghdr m = {0};
    KT_SYS_ERR(bind(f, (struct sockaddr *)&a, l), ENOTSOCK);
    KT_SYS_ERR(connect(f, (struct sockaddr *)&a, l), ENOTSOCK);
    KT_SYS_ERR(listen(f, 1), ENOTSOCK);
    KT_SYS_ERR(accept(f, 0, 0), ENOTSOCK);
    KT_SYS_ERR(getsockname(f, (struct sockaddr *)&a, &l), ENOTSOCK);
    KT_SYS_ERR(getpeername(f, (struct sockaddr *)&a, &l), ENOTSOCK);
    KT_SYS_ERR(shutdown(f, SHUT_RD), ENOTSOCK);
    KT_SYS_ERR(send(f, b, 1, 0), ENOTSOCK);
    KT_SYS_ERR(recv(f, b, 1, 0), ENOTSOCK);
    KT_SYS_ERR(sendmsg(f, &m, 0), ENOTSOCK);
    KT_SYS_ERR(recvmsg(f, &m, 0), ENOTSOCK);
    KT_SYS_ERR(setsockopt(f, SOL_SOCKET, SO_SNDBUF, &v, 4), ENOTSOCK);
    l = 4;
    KT_SYS_ERR(getsockopt(f, SOL_SOCKET, SO_TYPE, &v, &l), ENOTSOCK);
    close(p[0]);
    close(p[1]);
}

KT_CASE(what_is_checked_first) {
    int p[2];
    KT_SYS_OK(pipe(p));
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    /* connect copies the address before it looks at the file */
    KT_SYS_ERR(connect(p[0], (struct sockaddr *)1, 16), EFAULT);
    KT_SYS_ERR(connect(p[0], (struct sockaddr *)&a, 200), EINVAL);
    /* bind looks at the file first */
    KT_SYS_ERR(bind(p[0], (struct sockaddr *)1, 16), ENOTSOCK);
    /* sendto and recvfrom check the buffer's range before the file */
    KT_SYS_ERR(sendto(-1, (void *)0xffffffffffff0000UL, 10, 0, 0, 0), EFAULT);
    KT_SYS_ERR(recvfrom(-1, (void *)0xffffffffffff0000UL, 10, 0, 0, 0), EFAULT);
    /* accept4: the descriptor, then the flags, then the kind */
    KT_SYS_ERR(syscall(SYS_accept4, -1, 0, 0, 0x4000000), EBADF);
    KT_SYS_ERR(syscall(SYS_accept4, p[0], 0, 0, 0x4000000), EINVAL);
    KT_SYS_ERR(syscall(SYS_accept4, p[0], 0, 0, SOCK_CLOEXEC), ENOTSOCK);
    close(p[0]);
    close(p[1]);
}

KT_CASE(address_out_errors) {
    int s = KT_SYS_OK(socket(AF_UNIX, SOCK_STREAM, 0));
    struct sockaddr_un a;
    KT_SYS_ERR(getsockname(s, (struct sockaddr *)&a, (socklen_t *)1), EFAULT);
    socklen_t l = (socklen_t)-1;
    KT_SYS_ERR(getsockname(s, (struct sockaddr *)&a, &l), EINVAL);
    l = sizeof a;
    KT_SYS_ERR(getsockname(s, (struct sockaddr *)1, &l), EFAULT);
    l = 0; /* nothing copied, the length reported */
    KT_SYS_OK(getsockname(s, (struct sockaddr *)1, &l));
    KT_EQ(l, 2);
    l = sizeof a;
    KT_SYS_ERR(getpeername(s, (struct sockaddr *)&a, &l), ENOTCONN);
    KT_SYS_ERR(shutdown(s, 3), EINVAL);
    close(s);
}

KT_CASE(stream_state_errors) {
    int s = KT_SYS_OK(socket(AF_UNIX, SOCK_STREAM, 0));
    char b[4];
    KT_SYS_ERR(send(s, "x", 1, MSG_NOSIGNAL), ENOTCONN);
    KT_SYS_ERR(recv(s, b, 4, 0), EINVAL);
    KT_SYS_ERR(read(s, b, 4), EINVAL);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strcpy(a.sun_path, "/tmp/se1");
    KT_SYS_ERR(sendto(s, "x", 1, MSG_NOSIGNAL, (struct sockaddr *)&a, sizeof a), EOPNOTSUPP);
    /* shutdown of an unconnected AF_UNIX socket is allowed */
    KT_SYS_OK(shutdown(s, SHUT_RDWR));
    close(s);
    int sv[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    KT_SYS_ERR(sendto(sv[0], "x", 1, 0, (struct sockaddr *)&a, sizeof a), EISCONN);
    KT_SYS_ERR(connect(sv[0], (struct sockaddr *)&a, sizeof a), ENOENT);
    close(sv[0]);
    close(sv[1]);
}

KT_CASE(msghdr_errors) {
    int sv[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    /* raw calls: musl's wrappers read the msghdr themselves */
    KT_SYS_ERR(syscall(SYS_sendmsg, sv[0], 1, 0), EFAULT);
    KT_SYS_ERR(syscall(SYS_recvmsg, sv[1], 1, 0), EFAULT);
    static struct iovec many[1025];
    for (int i = 0; i < 1025; i++) {
        many[i].iov_base = "a";
        many[i].iov_len = 1;
    }
    struct msghdr m = {.msg_iov = many, .msg_iovlen = 1025};
    KT_SYS_ERR(sendmsg(sv[0], &m, 0), EMSGSIZE);
    m.msg_iovlen = 1024;
    KT_SYS_RET(sendmsg(sv[0], &m, 0), 1024);
    struct iovec bad = {(void *)0xffffffffffff0000UL, 10};
    m.msg_iov = &bad;
    m.msg_iovlen = 1;
    KT_SYS_ERR(sendmsg(sv[0], &m, 0), EFAULT);
    struct iovec neg = {"a", (size_t)-1};
    m.msg_iov = &neg;
    KT_SYS_ERR(sendmsg(sv[0], &m, 0), EINVAL);
    m.msg_iov = (struct iovec *)1;
    KT_SYS_ERR(syscall(SYS_sendmsg, sv[0], &m, 0), EFAULT);
    /* message vectors at the top of the address space */
    KT_SYS_ERR(syscall(SYS_sendmmsg, sv[0], 0xffffffffffffffc0UL, 2, 0), EFAULT);
    KT_SYS_ERR(syscall(SYS_recvmmsg, sv[1], 0xffffffffffffffc0UL, 2, MSG_DONTWAIT, 0), EFAULT);
    /* a gathered datagram arrives whole */
    char big[2048];
    KT_SYS_RET(recv(sv[1], big, sizeof big, 0), 1024);
    close(sv[0]);
    close(sv[1]);
}

KT_CASE(fd_link_names_the_socket) {
    int s = KT_SYS_OK(socket(AF_UNIX, SOCK_STREAM, 0));
    char path[64], link[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", s);
    long n = KT_SYS_OK(readlink(path, link, sizeof link - 1));
    link[n] = 0;
    struct stat st;
    KT_SYS_OK(fstat(s, &st));
    char want[64];
    snprintf(want, sizeof want, "socket:[%lu]", (unsigned long)st.st_ino);
    KT_EQ(strcmp(link, want), 0);
    close(s);
}

KT_MAIN()
