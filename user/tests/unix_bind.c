/* AF_UNIX names and connections: bind to a path (a socket inode: stat,
 * EADDRINUSE, unlink), abstract names, autobind, getsockname lengths,
 * listen/accept/accept4 with a backlog, connect errors (ENOENT,
 * ECONNREFUSED, EPROTOTYPE, EACCES, EISCONN), non-blocking connect on a
 * full backlog and a blocking one woken by accept. */
#include "kt.h"

#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

static socklen_t mkaddr(struct sockaddr_un *a, const char *path) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    strcpy(a->sun_path, path);
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
}

/* An abstract name: a leading NUL then `name`, length without a NUL. */
static socklen_t mkabs(struct sockaddr_un *a, const char *name) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    memcpy(a->sun_path + 1, name, strlen(name));
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
}

static int listener(const char *path, int backlog) {
    struct sockaddr_un a;
    socklen_t l = mkaddr(&a, path);
    unlink(path);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    if (s < 0 || bind(s, (struct sockaddr *)&a, l) < 0 || listen(s, backlog) < 0) return -1;
    return s;
}

KT_CASE(bind_path_makes_a_socket_inode) {
    umask(022);
    unlink("/tmp/ub1");
    int s = KT_SYS_OK(socket(AF_UNIX, SOCK_STREAM, 0));
    struct sockaddr_un a;
    socklen_t l = mkaddr(&a, "/tmp/ub1");
    KT_SYS_OK(bind(s, (struct sockaddr *)&a, l));
    struct stat st;
    KT_SYS_OK(stat("/tmp/ub1", &st));
    KT_TRUE(S_ISSOCK(st.st_mode), "mode %o", st.st_mode);
    KT_EQ(st.st_mode & 07777, 0755);
    /* the name stays after close: a new bind is EADDRINUSE until unlink */
    close(s);
    s = KT_SYS_OK(socket(AF_UNIX, SOCK_STREAM, 0));
    KT_SYS_ERR(bind(s, (struct sockaddr *)&a, l), EADDRINUSE);
    KT_SYS_OK(unlink("/tmp/ub1"));
    KT_SYS_OK(bind(s, (struct sockaddr *)&a, l));
    close(s);
    unlink("/tmp/ub1");
}

KT_CASE(getsockname_lengths) {
    unlink("/tmp/ub2");
    int s = KT_SYS_OK(socket(AF_UNIX, SOCK_DGRAM, 0));
    struct sockaddr_un a, got;
    socklen_t gl = sizeof got;
    KT_SYS_OK(getsockname(s, (struct sockaddr *)&got, &gl));
    KT_EQ(gl, sizeof(sa_family_t));
    KT_EQ(got.sun_family, AF_UNIX);
    /* a path ends at its first NUL, whatever the length given */
    mkaddr(&a, "/tmp/ub2");
    KT_SYS_OK(bind(s, (struct sockaddr *)&a, sizeof a));
    gl = sizeof got;
    KT_SYS_OK(getsockname(s, (struct sockaddr *)&got, &gl));
    KT_EQ(gl, offsetof(struct sockaddr_un, sun_path) + strlen("/tmp/ub2") + 1);
    KT_EQ(strcmp(got.sun_path, "/tmp/ub2"), 0);
    /* a short buffer gets the start, the length is the whole */
    gl = 4;
    memset(&got, 0x55, sizeof got);
    KT_SYS_OK(getsockname(s, (struct sockaddr *)&got, &gl));
    KT_EQ(gl, 11);
    KT_EQ(got.sun_path[2], 0x55);
    KT_EQ(got.sun_path[1], 't');
    /* a second bind is EINVAL */
    struct sockaddr_un b;
    socklen_t bl = mkabs(&b, "ub2-second");
    KT_SYS_ERR(bind(s, (struct sockaddr *)&b, bl), EINVAL);
    close(s);
    unlink("/tmp/ub2");
}

KT_CASE(abstract_names) {
    int s = KT_SYS_OK(socket(AF_UNIX, SOCK_DGRAM, 0));
    int t = KT_SYS_OK(socket(AF_UNIX, SOCK_DGRAM, 0));
    struct sockaddr_un a, got;
    socklen_t l = mkabs(&a, "kt-abs");
    a.sun_path[8] = 'x'; /* "\0kt-abs\0x": the NUL and 'x' are part of the name */
    l += 2;
    KT_SYS_OK(bind(s, (struct sockaddr *)&a, l));
    KT_SYS_ERR(bind(t, (struct sockaddr *)&a, l), EADDRINUSE);
    socklen_t gl = sizeof got;
    KT_SYS_OK(getsockname(s, (struct sockaddr *)&got, &gl));
    KT_EQ(gl, l);
    KT_EQ(got.sun_path[0], 0);
    KT_EQ(memcmp(got.sun_path + 1, "kt-abs\0x", 8), 0);
    /* another length is another name */
    KT_SYS_OK(bind(t, (struct sockaddr *)&a, l - 2));
    KT_SYS_RET(sendto(t, "m", 1, 0, (struct sockaddr *)&a, l), 1);
    char b[4];
    struct sockaddr_un from;
    socklen_t fl = sizeof from;
    KT_SYS_RET(recvfrom(s, b, 4, 0, (struct sockaddr *)&from, &fl), 1);
    KT_EQ(fl, l - 2);
    close(s);
    /* the name is free as soon as its socket closes */
    s = KT_SYS_OK(socket(AF_UNIX, SOCK_DGRAM, 0));
    KT_SYS_OK(bind(s, (struct sockaddr *)&a, l));
    close(s);
    close(t);
}

KT_CASE(autobind_gives_five_hex_digits) {
    int s = KT_SYS_OK(socket(AF_UNIX, SOCK_STREAM, 0));
    struct sockaddr_un a = {.sun_family = AF_UNIX}, got;
    KT_SYS_OK(bind(s, (struct sockaddr *)&a, sizeof(sa_family_t)));
    socklen_t gl = sizeof got;
    KT_SYS_OK(getsockname(s, (struct sockaddr *)&got, &gl));
    KT_EQ(gl, offsetof(struct sockaddr_un, sun_path) + 6);
    KT_EQ(got.sun_path[0], 0);
    for (int i = 1; i < 6; i++) {
        char c = got.sun_path[i];
        KT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'), "char %d", c);
    }
    /* autobind of a bound socket is a no-op */
    KT_SYS_OK(bind(s, (struct sockaddr *)&a, sizeof(sa_family_t)));
    close(s);
}

KT_CASE(bind_address_errors) {
    int s = KT_SYS_OK(socket(AF_UNIX, SOCK_STREAM, 0));
    struct sockaddr_un a;
    mkaddr(&a, "/tmp/ub3");
    KT_SYS_ERR(bind(s, (struct sockaddr *)&a, 1), EINVAL);
    KT_SYS_ERR(bind(s, (struct sockaddr *)&a, sizeof a + 1), EINVAL);
    KT_SYS_ERR(bind(s, (struct sockaddr *)&a, 129), EINVAL);
    KT_SYS_ERR(bind(s, (struct sockaddr *)&a, -1), EINVAL);
    KT_SYS_ERR(bind(s, (struct sockaddr *)1, 10), EFAULT);
    a.sun_family = AF_INET;
    KT_SYS_ERR(bind(s, (struct sockaddr *)&a, 10), EINVAL);
    mkaddr(&a, "/tmp/no/such/dir/s");
    KT_SYS_ERR(bind(s, (struct sockaddr *)&a, sizeof a), ENOENT);
    close(s);
}

KT_CASE(listen_and_accept_rules) {
    int d = KT_SYS_OK(socket(AF_UNIX, SOCK_DGRAM, 0));
    KT_SYS_ERR(listen(d, 1), EOPNOTSUPP);
    KT_SYS_ERR(accept(d, 0, 0), EOPNOTSUPP);
    close(d);
    int s = KT_SYS_OK(socket(AF_UNIX, SOCK_STREAM, 0));
    KT_SYS_ERR(listen(s, 1), EINVAL); /* unbound */
    KT_SYS_ERR(accept(s, 0, 0), EINVAL);
    close(s);
    int sv[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    KT_SYS_ERR(listen(sv[0], 1), EINVAL); /* connected */
    close(sv[0]);
    close(sv[1]);
}

KT_CASE(connect_accept_and_names) {
    int l = KT_SYS_OK(listener("/tmp/ub4", 5));
    int one = 1, v = 0;
    socklen_t vl = sizeof v;
    KT_SYS_OK(getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl));
    KT_EQ(v, 1);
    int c = KT_SYS_OK(socket(AF_UNIX, SOCK_STREAM, 0));
    struct sockaddr_un a, got;
    socklen_t al = mkaddr(&a, "/tmp/ub4");
    KT_SYS_OK(connect(c, (struct sockaddr *)&a, al));
    KT_SYS_ERR(connect(c, (struct sockaddr *)&a, al), EISCONN);
    struct pollfd p = {.fd = l, .events = POLLIN};
    KT_SYS_RET(poll(&p, 1, 0), 1);
    socklen_t gl = sizeof got;
    int s = KT_SYS_OK(accept4(l, (struct sockaddr *)&got, &gl, SOCK_NONBLOCK | SOCK_CLOEXEC));
    KT_EQ(gl, sizeof(sa_family_t)); /* the client is unnamed */
    KT_EQ(fcntl(s, F_GETFD), FD_CLOEXEC);
    KT_EQ(fcntl(s, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
    /* the server side carries the listener's name */
    gl = sizeof got;
    KT_SYS_OK(getsockname(s, (struct sockaddr *)&got, &gl));
    KT_EQ(strcmp(got.sun_path, "/tmp/ub4"), 0);
    gl = sizeof got;
    KT_SYS_OK(getpeername(c, (struct sockaddr *)&got, &gl));
    KT_EQ(gl, al);
    KT_EQ(strcmp(got.sun_path, "/tmp/ub4"), 0);
    KT_SYS_RET(send(c, "hi", 2, 0), 2);
    char b[4];
    KT_SYS_RET(recv(s, b, 4, 0), 2);
    KT_SYS_ERR(recv(s, b, 4, 0), EAGAIN);
    /* the raw call: musl's accept4 falls back to accept on EINVAL */
    KT_SYS_ERR(syscall(SYS_accept4, l, 0, 0, 0x1000), EINVAL);
    (void)one;
    close(s);
    close(c);
    close(l);
    unlink("/tmp/ub4");
}

KT_CASE(accept_reports_a_bound_client) {
    int l = KT_SYS_OK(listener("/tmp/ub5", 5));
    int c = KT_SYS_OK(socket(AF_UNIX, SOCK_STREAM, 0));
    struct sockaddr_un a, me, got;
    socklen_t ml = mkabs(&me, "ub5-client");
    KT_SYS_OK(bind(c, (struct sockaddr *)&me, ml));
    socklen_t al = mkaddr(&a, "/tmp/ub5");
    KT_SYS_OK(connect(c, (struct sockaddr *)&a, al));
    socklen_t gl = sizeof got;
    int s = KT_SYS_OK(accept(l, (struct sockaddr *)&got, &gl));
    KT_EQ(gl, ml);
    KT_EQ(memcmp(got.sun_path, me.sun_path, ml - 2), 0);
    close(s);
    close(c);
    close(l);
    unlink("/tmp/ub5");
}

KT_CASE(connect_errors) {
    int c = KT_SYS_OK(socket(AF_UNIX, SOCK_STREAM, 0));
    struct sockaddr_un a;
    socklen_t al = mkaddr(&a, "/tmp/ub-none");
    KT_SYS_ERR(connect(c, (struct sockaddr *)&a, al), ENOENT);
    /* a regular file */
    int f = KT_SYS_OK(open("/tmp/ub-file", O_CREAT | O_WRONLY, 0666));
    close(f);
    al = mkaddr(&a, "/tmp/ub-file");
    KT_SYS_ERR(connect(c, (struct sockaddr *)&a, al), ECONNREFUSED);
    unlink("/tmp/ub-file");
    /* bound but not listening */
    unlink("/tmp/ub6");
    int s = KT_SYS_OK(socket(AF_UNIX, SOCK_STREAM, 0));
    al = mkaddr(&a, "/tmp/ub6");
    KT_SYS_OK(bind(s, (struct sockaddr *)&a, al));
    KT_SYS_ERR(connect(c, (struct sockaddr *)&a, al), ECONNREFUSED);
    /* closed listener: the name stays, nobody answers */
    KT_SYS_OK(listen(s, 1));
    close(s);
    KT_SYS_ERR(connect(c, (struct sockaddr *)&a, al), ECONNREFUSED);
    unlink("/tmp/ub6");
    /* a datagram socket's name: a path is EPROTOTYPE, an abstract name
     * of another type is not found at all */
    int d = KT_SYS_OK(socket(AF_UNIX, SOCK_DGRAM, 0));
    KT_SYS_OK(bind(d, (struct sockaddr *)&a, al));
    KT_SYS_ERR(connect(c, (struct sockaddr *)&a, al), EPROTOTYPE);
    close(d);
    unlink("/tmp/ub6");
    d = KT_SYS_OK(socket(AF_UNIX, SOCK_DGRAM, 0));
    struct sockaddr_un b;
    socklen_t bl = mkabs(&b, "ub6-dgram");
    KT_SYS_OK(bind(d, (struct sockaddr *)&b, bl));
    KT_SYS_ERR(connect(c, (struct sockaddr *)&b, bl), ECONNREFUSED);
    /* an abstract name nobody holds */
    bl = mkabs(&b, "ub6-nobody");
    KT_SYS_ERR(connect(c, (struct sockaddr *)&b, bl), ECONNREFUSED);
    KT_SYS_ERR(connect(c, (struct sockaddr *)&b, 2), EINVAL);
    close(d);
    close(c);
}

KT_CASE(listener_connecting_to_itself) {
    int l = KT_SYS_OK(listener("/tmp/ub12", 5));
    struct sockaddr_un a;
    socklen_t al = mkaddr(&a, "/tmp/ub12");
    KT_SYS_ERR(connect(l, (struct sockaddr *)&a, al), EINVAL);
    close(l);
    unlink("/tmp/ub12");
}

KT_CASE(connect_needs_write_permission) {
    umask(022);
    int l = KT_SYS_OK(listener("/tmp/ub7", 5));
    pid_t p = KT_FORK();
    if (p == 0) {
        if (setuid(65534) != 0) _exit(2);
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un a;
        socklen_t al = mkaddr(&a, "/tmp/ub7");
        int r = connect(c, (struct sockaddr *)&a, al);
        _exit(r == -1 && errno == EACCES ? 0 : 1);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
    KT_SYS_OK(chmod("/tmp/ub7", 0777));
    p = KT_FORK();
    if (p == 0) {
        if (setuid(65534) != 0) _exit(2);
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        struct sockaddr_un a;
        socklen_t al = mkaddr(&a, "/tmp/ub7");
        _exit(connect(c, (struct sockaddr *)&a, al) == 0 ? 0 : 1);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
    close(l);
    unlink("/tmp/ub7");
}

KT_CASE(full_backlog_nonblocking_eagain) {
    int l = KT_SYS_OK(listener("/tmp/ub8", 0));
    struct sockaddr_un a;
    socklen_t al = mkaddr(&a, "/tmp/ub8");
    int c1 = KT_SYS_OK(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0));
    KT_SYS_OK(connect(c1, (struct sockaddr *)&a, al));
    int c2 = KT_SYS_OK(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0));
    KT_SYS_ERR(connect(c2, (struct sockaddr *)&a, al), EAGAIN);
    int s = KT_SYS_OK(accept(l, 0, 0));
    KT_SYS_OK(connect(c2, (struct sockaddr *)&a, al));
    int s2 = KT_SYS_OK(accept(l, 0, 0));
    int lnb = KT_SYS_OK(fcntl(l, F_GETFL));
    KT_SYS_OK(fcntl(l, F_SETFL, lnb | O_NONBLOCK));
    KT_SYS_ERR(accept(l, 0, 0), EAGAIN);
    close(s);
    close(s2);
    close(c1);
    close(c2);
    close(l);
    unlink("/tmp/ub8");
}

KT_CASE(blocking_connect_waits_for_accept) {
    int l = KT_SYS_OK(listener("/tmp/ub9", 0));
    struct sockaddr_un a;
    socklen_t al = mkaddr(&a, "/tmp/ub9");
    int c1 = KT_SYS_OK(socket(AF_UNIX, SOCK_STREAM, 0));
    KT_SYS_OK(connect(c1, (struct sockaddr *)&a, al));
    pid_t p = KT_FORK();
    if (p == 0) {
        int c2 = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(c2, (struct sockaddr *)&a, al) != 0) _exit(1);
        _exit(send(c2, "ok", 2, 0) == 2 ? 0 : 3);
    }
    kt_msleep(100);
    int s1 = KT_SYS_OK(accept(l, 0, 0));
    int s2 = KT_SYS_OK(accept(l, 0, 0));
    char b[4];
    KT_SYS_RET(recv(s2, b, 4, 0), 2);
    KT_WAIT_STATUS(p, kt_exited(0));
    close(s1);
    close(s2);
    close(c1);
    close(l);
    unlink("/tmp/ub9");
}

KT_CASE(pending_connection_reset_when_listener_closes) {
    int l = KT_SYS_OK(listener("/tmp/ub10", 5));
    struct sockaddr_un a;
    socklen_t al = mkaddr(&a, "/tmp/ub10");
    int c = KT_SYS_OK(socket(AF_UNIX, SOCK_STREAM, 0));
    KT_SYS_OK(connect(c, (struct sockaddr *)&a, al));
    close(l);
    char b[4];
    KT_SYS_ERR(recv(c, b, 4, 0), ECONNRESET);
    KT_SYS_RET(recv(c, b, 4, 0), 0);
    KT_SYS_ERR(send(c, "x", 1, MSG_NOSIGNAL), EPIPE);
    close(c);
    unlink("/tmp/ub10");
}

KT_CASE(unlinked_name_keeps_the_connection) {
    int l = KT_SYS_OK(listener("/tmp/ub11", 5));
    struct sockaddr_un a;
    socklen_t al = mkaddr(&a, "/tmp/ub11");
    int c = KT_SYS_OK(socket(AF_UNIX, SOCK_STREAM, 0));
    KT_SYS_OK(connect(c, (struct sockaddr *)&a, al));
    KT_SYS_OK(unlink("/tmp/ub11"));
    int s = KT_SYS_OK(accept(l, 0, 0));
    KT_SYS_RET(send(s, "ab", 2, 0), 2);
    char b[4];
    KT_SYS_RET(recv(c, b, 4, 0), 2);
    int c2 = KT_SYS_OK(socket(AF_UNIX, SOCK_STREAM, 0));
    KT_SYS_ERR(connect(c2, (struct sockaddr *)&a, al), ENOENT);
    close(c2);
    close(s);
    close(c);
    close(l);
}

KT_MAIN()
