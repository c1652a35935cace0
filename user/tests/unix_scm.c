/* Ancillary data on AF_UNIX: SCM_RIGHTS (files in flight outlive the
 * sender's descriptors; MSG_CTRUNC and the closing of what does not fit;
 * MSG_CMSG_CLOEXEC; the errors of a bad message), SCM_CREDENTIALS with
 * SO_PASSCRED (and EPERM for claims a process may not make), SO_PEERCRED of
 * pairs and of connections, and a stream read stopping after the message
 * that carried files. */
#include "kt.h"

#include <stddef.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

static int send_fds(int s, const char *data, const int *fds, int n) {
    char ctl[CMSG_SPACE(sizeof(int) * 260)];
    memset(ctl, 0, sizeof ctl);
    struct iovec iov = {(void *)data, strlen(data)};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    if (n > 0) {
        m.msg_control = ctl;
        m.msg_controllen = CMSG_SPACE(sizeof(int) * n);
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * n);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
    }
    /* the raw call: musl's sendmsg refuses more than 1024 bytes of control */
    return (int)syscall(SYS_sendmsg, s, &m, 0);
}

/* Receives into `ctl` of `ctllen` bytes; returns the byte count. */
static long recv_ctl(int s, char *buf, size_t len, void *ctl, size_t ctllen, int flags, struct msghdr *out) {
    struct iovec iov = {buf, len};
    memset(out, 0, sizeof *out);
    out->msg_iov = &iov;
    out->msg_iovlen = 1;
    out->msg_control = ctl;
    out->msg_controllen = ctllen;
    return recvmsg(s, out, flags);
}

KT_CASE(file_outlives_the_sender) {
    int sv[2], p[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    KT_SYS_OK(pipe(p));
    KT_SYS_RET(send_fds(sv[0], "fd", &p[1], 1), 2);
    close(p[1]); /* the only write end left is in flight */
    char buf[8];
    char ctl[CMSG_SPACE(sizeof(int))];
    struct msghdr m;
    KT_SYS_RET(recv_ctl(sv[1], buf, 8, ctl, sizeof ctl, 0, &m), 2);
    KT_EQ(m.msg_flags, 0);
    KT_EQ(m.msg_controllen, CMSG_SPACE(sizeof(int)));
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    KT_TRUE(c != 0, "no cmsg");
    KT_EQ(c->cmsg_level, SOL_SOCKET);
    KT_EQ(c->cmsg_type, SCM_RIGHTS);
    KT_EQ(c->cmsg_len, CMSG_LEN(sizeof(int)));
    int w;
    memcpy(&w, CMSG_DATA(c), sizeof w);
    KT_EQ(fcntl(w, F_GETFD), 0);
    KT_SYS_RET(write(w, "via", 3), 3);
    close(w);
    KT_SYS_RET(read(p[0], buf, 8), 3);
    KT_SYS_RET(read(p[0], buf, 8), 0); /* every write end is closed now */
    close(p[0]);
    close(sv[0]);
    close(sv[1]);
}

KT_CASE(ctrunc_closes_what_does_not_fit) {
    int sv[2], p[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    KT_SYS_OK(pipe(p));
    int three[3] = {p[1], p[1], p[1]};
    KT_SYS_RET(send_fds(sv[0], "x", three, 3), 1);
    close(p[1]);
    char buf[8];
    char ctl[CMSG_SPACE(sizeof(int))]; /* 24 bytes: room for two ints */
    struct msghdr m;
    KT_SYS_RET(recv_ctl(sv[1], buf, 8, ctl, sizeof ctl, MSG_CMSG_CLOEXEC, &m), 1);
    /* msg_flags carries the caller's MSG_CMSG_CLOEXEC too */
    KT_EQ(m.msg_flags, MSG_CTRUNC | MSG_CMSG_CLOEXEC);
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    KT_TRUE(c != 0, "no cmsg");
    KT_EQ(c->cmsg_len, CMSG_LEN(2 * sizeof(int)));
    int fds[2];
    memcpy(fds, CMSG_DATA(c), sizeof fds);
    KT_EQ(fcntl(fds[0], F_GETFD), FD_CLOEXEC);
    KT_EQ(fcntl(fds[1], F_GETFD), FD_CLOEXEC);
    close(fds[0]);
    close(fds[1]);
    /* the third was closed by the kernel: the pipe has no writer */
    KT_SYS_RET(read(p[0], buf, 8), 0);
    close(p[0]);
    close(sv[0]);
    close(sv[1]);
}

KT_CASE(no_control_buffer_drops_the_files) {
    int sv[2], p[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    KT_SYS_OK(pipe(p));
    KT_SYS_RET(send_fds(sv[0], "y", &p[1], 1), 1);
    close(p[1]);
    char buf[8];
    struct msghdr m;
    KT_SYS_RET(recv_ctl(sv[1], buf, 8, 0, 0, 0, &m), 1);
    KT_EQ(m.msg_flags, MSG_CTRUNC);
    KT_SYS_RET(read(p[0], buf, 8), 0);
    close(p[0]);
    close(sv[0]);
    close(sv[1]);
}

KT_CASE(stream_read_stops_after_files) {
    int sv[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    int fd = 0;
    KT_SYS_RET(send_fds(sv[0], "ab", &fd, 1), 2);
    KT_SYS_RET(send(sv[0], "cd", 2, 0), 2);
    char buf[8];
    char ctl[CMSG_SPACE(sizeof(int))];
    struct msghdr m;
    KT_SYS_RET(recv_ctl(sv[1], buf, 8, ctl, sizeof ctl, 0, &m), 2);
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    KT_TRUE(c != 0 && c->cmsg_type == SCM_RIGHTS, "no rights");
    int got;
    memcpy(&got, CMSG_DATA(c), sizeof got);
    close(got);
    KT_SYS_RET(recv(sv[1], buf, 8, 0), 2);
    KT_EQ(memcmp(buf, "cd", 2), 0);
    close(sv[0]);
    close(sv[1]);
}

KT_CASE(peek_duplicates_the_files) {
    int sv[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    int fd = 1;
    KT_SYS_RET(send_fds(sv[0], "p", &fd, 1), 1);
    char buf[8];
    char ctl[CMSG_SPACE(sizeof(int))];
    struct msghdr m;
    KT_SYS_RET(recv_ctl(sv[1], buf, 8, ctl, sizeof ctl, MSG_PEEK, &m), 1);
    int a, b;
    memcpy(&a, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof a);
    KT_SYS_RET(recv_ctl(sv[1], buf, 8, ctl, sizeof ctl, 0, &m), 1);
    memcpy(&b, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof b);
    KT_NE(a, b);
    struct stat s1, s2;
    KT_SYS_OK(fstat(a, &s1));
    KT_SYS_OK(fstat(b, &s2));
    KT_EQ(s1.st_ino, s2.st_ino);
    close(a);
    close(b);
    close(sv[0]);
    close(sv[1]);
}

KT_CASE(bad_control_messages) {
    int sv[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    int bad = 999;
    KT_SYS_ERR(send_fds(sv[0], "b", &bad, 1), EBADF);
    static int many[254];
    for (int i = 0; i < 254; i++) many[i] = 0;
    KT_SYS_ERR(send_fds(sv[0], "m", many, 254), EINVAL);
    KT_SYS_RET(send_fds(sv[0], "m", many, 253), 1);
    char ctl[CMSG_SPACE(sizeof(int))];
    memset(ctl, 0, sizeof ctl);
    struct iovec iov = {"z", 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = 8; /* shorter than the header */
    KT_SYS_ERR(sendmsg(sv[0], &m, 0), EINVAL);
    c->cmsg_len = CMSG_LEN(sizeof(int));
    c->cmsg_type = 77;
    KT_SYS_ERR(sendmsg(sv[0], &m, 0), EINVAL);
    c->cmsg_level = 0; /* another level: ignored by AF_UNIX */
    KT_SYS_RET(sendmsg(sv[0], &m, 0), 1);
    static char huge[30000];
    m.msg_control = huge;
    m.msg_controllen = sizeof huge;
    KT_SYS_ERR(syscall(SYS_sendmsg, sv[0], &m, 0), ENOBUFS);
    close(sv[0]);
    close(sv[1]);
}

KT_CASE(credentials_with_passcred) {
    int sv[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    int one = 1;
    KT_SYS_OK(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one));
    int v = 0;
    socklen_t vl = sizeof v;
    KT_SYS_OK(getsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &v, &vl));
    KT_EQ(v, 1);
    KT_SYS_RET(send(sv[0], "c", 1, 0), 1);
    char buf[8];
    char ctl[CMSG_SPACE(sizeof(struct ucred))];
    struct msghdr m;
    KT_SYS_RET(recv_ctl(sv[1], buf, 8, ctl, sizeof ctl, 0, &m), 1);
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    KT_TRUE(c != 0, "no cmsg");
    KT_EQ(c->cmsg_type, SCM_CREDENTIALS);
    KT_EQ(c->cmsg_len, CMSG_LEN(sizeof(struct ucred)));
    struct ucred u;
    memcpy(&u, CMSG_DATA(c), sizeof u);
    KT_EQ(u.pid, getpid());
    KT_EQ(u.uid, getuid());
    KT_EQ(u.gid, getgid());
    /* a child's message carries the child's pid */
    pid_t p = KT_FORK();
    if (p == 0) _exit(send(sv[0], "k", 1, 0) == 1 ? 0 : 1);
    KT_WAIT_STATUS(p, kt_exited(0));
    KT_SYS_RET(recv_ctl(sv[1], buf, 8, ctl, sizeof ctl, 0, &m), 1);
    memcpy(&u, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof u);
    KT_EQ(u.pid, p);
    /* no room for them: MSG_CTRUNC */
    KT_SYS_RET(send(sv[0], "t", 1, 0), 1);
    KT_SYS_RET(recv_ctl(sv[1], buf, 8, 0, 0, 0, &m), 1);
    KT_EQ(m.msg_flags, MSG_CTRUNC);
    close(sv[0]);
    close(sv[1]);
}

static int send_creds(int s, struct ucred *u) {
    char ctl[CMSG_SPACE(sizeof(struct ucred))];
    memset(ctl, 0, sizeof ctl);
    struct iovec iov = {"u", 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_CREDENTIALS;
    c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
    memcpy(CMSG_DATA(c), u, sizeof *u);
    return (int)sendmsg(s, &m, 0);
}

KT_CASE(claimed_credentials_are_checked) {
    int sv[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    int one = 1;
    KT_SYS_OK(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one));
    /* root may claim another pid */
    struct ucred u = {.pid = 1, .uid = 0, .gid = 0};
    KT_SYS_RET(send_creds(sv[0], &u), 1);
    char buf[8];
    char ctl[CMSG_SPACE(sizeof(struct ucred))];
    struct msghdr m;
    KT_SYS_RET(recv_ctl(sv[1], buf, 8, ctl, sizeof ctl, 0, &m), 1);
    struct ucred g;
    memcpy(&g, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof g);
    KT_EQ(g.pid, 1);
    pid_t p = KT_FORK();
    if (p == 0) {
        if (setgid(65534) != 0 || setuid(65534) != 0) _exit(2);
        struct ucred bad = {.pid = getpid(), .uid = 0, .gid = 65534};
        if (send_creds(sv[0], &bad) != -1 || errno != EPERM) _exit(3);
        struct ucred other = {.pid = 1, .uid = 65534, .gid = 65534};
        if (send_creds(sv[0], &other) != -1 || errno != EPERM) _exit(4);
        struct ucred mine = {.pid = getpid(), .uid = 65534, .gid = 65534};
        _exit(send_creds(sv[0], &mine) == 1 ? 0 : 5);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
    KT_SYS_RET(recv_ctl(sv[1], buf, 8, ctl, sizeof ctl, 0, &m), 1);
    memcpy(&g, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof g);
    KT_EQ(g.uid, 65534);
    KT_EQ(g.pid, p);
    close(sv[0]);
    close(sv[1]);
}

KT_CASE(peercred_of_pairs_and_connections) {
    int sv[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    struct ucred u;
    socklen_t ul = sizeof u;
    KT_SYS_OK(getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &u, &ul));
    KT_EQ(ul, sizeof u);
    KT_EQ(u.pid, getpid());
    KT_EQ(u.uid, geteuid());
    close(sv[0]);
    close(sv[1]);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    strcpy(a.sun_path, "/tmp/uc1");
    unlink(a.sun_path);
    int l = KT_SYS_OK(socket(AF_UNIX, SOCK_STREAM, 0));
    KT_SYS_OK(bind(l, (struct sockaddr *)&a, sizeof a));
    KT_SYS_OK(listen(l, 2));
    int pp[2];
    KT_SYS_OK(pipe(pp));
    pid_t p = KT_FORK();
    if (p == 0) {
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(c, (struct sockaddr *)&a, sizeof a) != 0) _exit(1);
        struct ucred v;
        socklen_t vl = sizeof v;
        if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &v, &vl) != 0) _exit(2);
        /* the server's: who called listen */
        if (v.pid != getppid()) _exit(3);
        char b;
        read(pp[0], &b, 1);
        _exit(0);
    }
    int s = KT_SYS_OK(accept(l, 0, 0));
    ul = sizeof u;
    KT_SYS_OK(getsockopt(s, SOL_SOCKET, SO_PEERCRED, &u, &ul));
    KT_EQ(u.pid, p);
    KT_SYS_RET(write(pp[1], "g", 1), 1);
    KT_WAIT_STATUS(p, kt_exited(0));
    /* unconnected: no peer */
    int n = KT_SYS_OK(socket(AF_UNIX, SOCK_STREAM, 0));
    ul = sizeof u;
    KT_SYS_OK(getsockopt(n, SOL_SOCKET, SO_PEERCRED, &u, &ul));
    KT_EQ(u.pid, 0);
    KT_EQ((int)u.uid, -1);
    close(n);
    close(s);
    close(l);
    close(pp[0]);
    close(pp[1]);
    unlink(a.sun_path);
}

KT_CASE(socket_passed_over_itself) {
    /* each socket's own descriptor in its own queue, then both closed:
     * nothing but the garbage collector can free them */
    for (int i = 0; i < 50; i++) {
        int sv[2];
        KT_SYS_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
        KT_SYS_RET(send_fds(sv[0], "s", &sv[1], 1), 1);
        KT_SYS_RET(send_fds(sv[1], "s", &sv[0], 1), 1);
        close(sv[0]);
        close(sv[1]);
    }
}

KT_MAIN()
