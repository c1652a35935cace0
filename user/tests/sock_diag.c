/*
 * sock_diag: NETLINK_SOCK_DIAG's SOCK_DIAG_BY_FAMILY dumps as ss sends them
 * (inet_diag_req_v2 for TCP/UDP, unix_diag_req for AF_UNIX) and the errors
 * of sock_diag_rcv_msg. Only the sockets each case creates are asserted.
 * Debian's Linux has inet_diag/tcp_diag/udp_diag/unix_diag as modules the
 * test initramfs does not load: a family answering ENOENT there skips.
 */
#include "kt_netlink.h"
#include <sys/stat.h>
#include <stddef.h>
#include <sys/un.h>

#define SOCK_DIAG_BY_FAMILY_ 20

struct sockid { uint16_t sport, dport; uint32_t src[4], dst[4], ifx, cookie[2]; };
struct inet_req { uint8_t family, protocol, ext, pad; uint32_t states; struct sockid id; };
struct inet_msg { uint8_t family, state, timer, retrans; struct sockid id; uint32_t expires, rqueue, wqueue, uid, inode; };
struct unix_req { uint8_t family, protocol; uint16_t pad; uint32_t states, ino, show, cookie[2]; };
struct unix_msg { uint8_t family, type, state, pad; uint32_t ino, cookie[2]; };

static uint32_t ino_of(int fd) {
    struct stat st;
    return fstat(fd, &st) == 0 ? (uint32_t)st.st_ino : 0;
}

static uint16_t port_of(int fd) {
    struct sockaddr_in a;
    socklen_t l = sizeof a;
    return getsockname(fd, (struct sockaddr *)&a, &l) == 0 ? ntohs(a.sin_port) : 0;
}

#define MAXS 64
struct inet_seen { int n; struct inet_msg m[MAXS]; int shut[MAXS]; };

static int on_inet(struct nlhdr *h, void *arg) {
    struct inet_seen *w = arg;
    if (h->type != SOCK_DIAG_BY_FAMILY_) return NL_BAD;
    if (w->n >= MAXS || h->len < sizeof *h + sizeof(struct inet_msg)) return 0;
    memcpy(&w->m[w->n], h + 1, sizeof(struct inet_msg));
    size_t al;
    unsigned char *a = nl_attr((unsigned char *)(h + 1) + sizeof(struct inet_msg),
                               h->len - sizeof *h - sizeof(struct inet_msg), 8, &al);
    w->shut[w->n] = a && al == 1 ? a[0] : -1;
    w->n++;
    return 0;
}

static struct inet_msg *find_inet(struct inet_seen *w, uint32_t ino) {
    for (int i = 0; i < w->n; i++)
        if (w->m[i].inode == ino) return &w->m[i];
    return NULL;
}

static int inet_dump(int s, uint8_t family, uint8_t proto, uint32_t states, struct inet_seen *w) {
    struct inet_req r;
    memset(&r, 0, sizeof r);
    r.family = family;
    r.protocol = proto;
    r.states = states;
    w->n = 0;
    if (nl_send(s, SOCK_DIAG_BY_FAMILY_, NLM_F_REQUEST_ | NLM_F_DUMP_, 7, &r, sizeof r) != 16 + (ssize_t)sizeof r)
        return NL_BAD;
    return nl_dump(s, 7, on_inet, w);
}

KT_CASE(tcp_listener_and_connection) {
    int s = nl_open(NETLINK_SOCK_DIAG_);
    KT_TRUE(s >= 0, "socket: %s", kt_errname(errno));
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {AF_INET, 0, {htonl(INADDR_LOOPBACK)}, {0}};
    KT_SYS_OK(bind(l, (struct sockaddr *)&a, sizeof a));
    KT_SYS_OK(listen(l, 5));
    a.sin_port = htons(port_of(l));
    int c = socket(AF_INET, SOCK_STREAM, 0);
    KT_SYS_OK(connect(c, (struct sockaddr *)&a, sizeof a));
    int x = accept(l, NULL, NULL);
    KT_TRUE(x >= 0, "accept: %s", kt_errname(errno));
    static struct inet_seen w;
    int r = inet_dump(s, AF_INET, IPPROTO_TCP, ~0u, &w);
    if (r == 1000 + ENOENT) KT_SKIP("no tcp_diag (Debian's module not loaded)");
    KT_EQ(r, 0);
    struct inet_msg *m = find_inet(&w, ino_of(l));
    KT_TRUE(m != NULL, "listener not in the dump (%d sockets)", w.n);
    KT_EQ(m->family, AF_INET);
    KT_EQ(m->state, 10);
    KT_EQ(ntohs(m->id.sport), port_of(l));
    KT_EQ(m->id.dport, 0);
    KT_EQ(m->id.src[0], htonl(INADDR_LOOPBACK));
    KT_EQ(m->id.dst[0], 0);
    KT_EQ(m->rqueue, 0);
    KT_EQ(m->wqueue, 5);
    KT_EQ(m->uid, getuid());
    KT_EQ(w.shut[m - w.m], 0);
    m = find_inet(&w, ino_of(c));
    KT_TRUE(m != NULL, "client not in the dump");
    KT_EQ(m->state, 1);
    KT_EQ(ntohs(m->id.dport), port_of(l));
    KT_EQ(ntohs(m->id.sport), port_of(c));
    KT_EQ(m->id.dst[0], htonl(INADDR_LOOPBACK));
    m = find_inet(&w, ino_of(x));
    KT_TRUE(m != NULL, "accepted socket not in the dump");
    KT_EQ(m->state, 1);
    KT_EQ(ntohs(m->id.sport), port_of(l));
    KT_EQ(ntohs(m->id.dport), port_of(c));
    /* the state filter: listeners only */
    KT_EQ(inet_dump(s, AF_INET, IPPROTO_TCP, 1u << 10, &w), 0);
    KT_TRUE(find_inet(&w, ino_of(l)) != NULL, "listener filtered out");
    KT_TRUE(find_inet(&w, ino_of(c)) == NULL, "ESTABLISHED passed a LISTEN filter");
    /* AF_INET6 does not list AF_INET sockets */
    KT_EQ(inet_dump(s, AF_INET6, IPPROTO_TCP, ~0u, &w), 0);
    KT_TRUE(find_inet(&w, ino_of(l)) == NULL, "AF_INET listener in the AF_INET6 dump");
    close(x);
    close(c);
    close(l);
    close(s);
}

KT_CASE(udp_bound_and_connected) {
    int s = nl_open(NETLINK_SOCK_DIAG_);
    KT_TRUE(s >= 0, "socket: %s", kt_errname(errno));
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {AF_INET, 0, {htonl(INADDR_LOOPBACK)}, {0}};
    KT_SYS_OK(bind(u, (struct sockaddr *)&a, sizeof a));
    int v = socket(AF_INET, SOCK_DGRAM, 0);
    a.sin_port = htons(port_of(u));
    KT_SYS_OK(connect(v, (struct sockaddr *)&a, sizeof a));
    static struct inet_seen w;
    int r = inet_dump(s, AF_INET, IPPROTO_UDP, ~0u, &w);
    if (r == 1000 + ENOENT) KT_SKIP("no udp_diag (Debian's module not loaded)");
    KT_EQ(r, 0);
    struct inet_msg *m = find_inet(&w, ino_of(u));
    KT_TRUE(m != NULL, "bound socket not in the dump");
    KT_EQ(m->state, 7);
    KT_EQ(ntohs(m->id.sport), port_of(u));
    m = find_inet(&w, ino_of(v));
    KT_TRUE(m != NULL, "connected socket not in the dump");
    KT_EQ(m->state, 1);
    KT_EQ(ntohs(m->id.dport), port_of(u));
    /* the state filter: TCP_CLOSE only */
    KT_EQ(inet_dump(s, AF_INET, IPPROTO_UDP, 1u << 7, &w), 0);
    KT_TRUE(find_inet(&w, ino_of(u)) != NULL, "bound socket filtered out");
    KT_TRUE(find_inet(&w, ino_of(v)) == NULL, "connected socket passed a CLOSE filter");
    close(u);
    close(v);
    close(s);
}

struct unix_seen {
    int n;
    struct { struct unix_msg m; int namelen; char name[110]; int64_t peer; int has_rq; uint32_t rq[2]; uint32_t vfs[2]; int has_vfs; } e[MAXS];
};

static int on_unix(struct nlhdr *h, void *arg) {
    struct unix_seen *w = arg;
    if (h->type != SOCK_DIAG_BY_FAMILY_) return NL_BAD;
    if (w->n >= MAXS || h->len < sizeof *h + sizeof(struct unix_msg)) return 0;
    memset(&w->e[w->n], 0, sizeof w->e[0]);
    memcpy(&w->e[w->n].m, h + 1, sizeof(struct unix_msg));
    unsigned char *at = (unsigned char *)(h + 1) + sizeof(struct unix_msg);
    size_t n = h->len - sizeof *h - sizeof(struct unix_msg), al;
    unsigned char *a = nl_attr(at, n, 0, &al);
    w->e[w->n].namelen = a ? (int)al : -1;
    if (a && al <= 108) memcpy(w->e[w->n].name, a, al);
    a = nl_attr(at, n, 2, &al);
    w->e[w->n].peer = a && al == 4 ? (int64_t)*(uint32_t *)a : -1;
    a = nl_attr(at, n, 4, &al);
    if (a && al == 8) {
        w->e[w->n].has_rq = 1;
        memcpy(w->e[w->n].rq, a, 8);
    }
    a = nl_attr(at, n, 1, &al);
    if (a && al == 8) {
        w->e[w->n].has_vfs = 1;
        memcpy(w->e[w->n].vfs, a, 8);
    }
    w->n++;
    return 0;
}

static int unix_find(struct unix_seen *w, uint32_t ino) {
    for (int i = 0; i < w->n; i++)
        if (w->e[i].m.ino == ino) return i;
    return -1;
}

KT_CASE(unix_listener_pair_and_path) {
    int s = nl_open(NETLINK_SOCK_DIAG_);
    KT_TRUE(s >= 0, "socket: %s", kt_errname(errno));
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {AF_UNIX, "\0kt-sock-diag"};
    socklen_t alen = offsetof(struct sockaddr_un, sun_path) + 13;
    KT_SYS_OK(bind(l, (struct sockaddr *)&a, alen));
    KT_SYS_OK(listen(l, 7));
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    KT_SYS_OK(connect(c, (struct sockaddr *)&a, alen));
    int x = accept(l, NULL, NULL);
    KT_TRUE(x >= 0, "accept: %s", kt_errname(errno));
    KT_SYS_RET(write(c, "hello", 5), 5);
    int d = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un p = {AF_UNIX, "/tmp/kt-sock-diag.sock"};
    unlink(p.sun_path);
    KT_SYS_OK(bind(d, (struct sockaddr *)&p, sizeof p));
    struct stat st;
    KT_SYS_OK(stat(p.sun_path, &st));

    struct unix_req r;
    memset(&r, 0, sizeof r);
    r.family = AF_UNIX;
    r.states = ~0u;
    r.show = 1 | 2 | 4 | 0x10; /* NAME VFS PEER RQLEN */
    KT_SYS_RET(nl_send(s, SOCK_DIAG_BY_FAMILY_, NLM_F_REQUEST_ | NLM_F_DUMP_, 9, &r, sizeof r), 16 + sizeof r);
    static struct unix_seen w;
    w.n = 0;
    int res = nl_dump(s, 9, on_unix, &w);
    if (res == 1000 + ENOENT) KT_SKIP("no unix_diag (Debian's module not loaded)");
    KT_EQ(res, 0);
    int i = unix_find(&w, ino_of(l));
    KT_TRUE(i >= 0, "listener not in the dump (%d sockets)", w.n);
    KT_EQ(w.e[i].m.family, AF_UNIX);
    KT_EQ(w.e[i].m.type, SOCK_STREAM);
    KT_EQ(w.e[i].m.state, 10);
    KT_EQ(w.e[i].namelen, 13);
    KT_TRUE(memcmp(w.e[i].name, "\0kt-sock-diag", 13) == 0, "name");
    KT_EQ(w.e[i].peer, -1);
    KT_EQ(w.e[i].has_rq, 1);
    KT_EQ(w.e[i].rq[0], 0);
    KT_EQ(w.e[i].rq[1], 7);
    KT_EQ(w.e[i].has_vfs, 0);
    i = unix_find(&w, ino_of(c));
    KT_TRUE(i >= 0, "client not in the dump");
    KT_EQ(w.e[i].m.state, 1);
    KT_EQ(w.e[i].namelen, -1);
    KT_EQ(w.e[i].peer, ino_of(x));
    i = unix_find(&w, ino_of(x));
    KT_TRUE(i >= 0, "accepted socket not in the dump");
    KT_EQ(w.e[i].m.state, 1);
    KT_EQ(w.e[i].peer, ino_of(c));
    KT_EQ(w.e[i].rq[0], 5);
    i = unix_find(&w, ino_of(d));
    KT_TRUE(i >= 0, "datagram socket not in the dump");
    KT_EQ(w.e[i].m.type, SOCK_DGRAM);
    KT_EQ(w.e[i].m.state, 7);
    KT_EQ(w.e[i].namelen, (int)strlen(p.sun_path) + 1);
    KT_TRUE(memcmp(w.e[i].name, p.sun_path, strlen(p.sun_path) + 1) == 0, "path");
    KT_EQ(w.e[i].has_vfs, 1);
    KT_EQ(w.e[i].vfs[0], (uint32_t)st.st_ino);

    /* the state filter: TCP_LISTEN only */
    r.states = 1u << 10;
    KT_SYS_RET(nl_send(s, SOCK_DIAG_BY_FAMILY_, NLM_F_REQUEST_ | NLM_F_DUMP_, 10, &r, sizeof r), 16 + sizeof r);
    w.n = 0;
    KT_EQ(nl_dump(s, 10, on_unix, &w), 0);
    KT_TRUE(unix_find(&w, ino_of(l)) >= 0, "listener filtered out");
    KT_EQ(unix_find(&w, ino_of(c)), -1);
    KT_EQ(unix_find(&w, ino_of(d)), -1);

    /* one socket by inode: a single message, no NLM_F_MULTI, no ack */
    r.states = ~0u;
    r.ino = ino_of(c);
    r.cookie[0] = r.cookie[1] = ~0u;
    KT_SYS_RET(nl_send(s, SOCK_DIAG_BY_FAMILY_, NLM_F_REQUEST_, 11, &r, sizeof r), 16 + sizeof r);
    ssize_t n = recv(s, nl_buf, sizeof nl_buf, 0);
    KT_TRUE(n >= 16 + (ssize_t)sizeof(struct unix_msg), "recv: %zd", n);
    struct nlhdr *h = (struct nlhdr *)nl_buf;
    KT_EQ(h->type, SOCK_DIAG_BY_FAMILY_);
    KT_EQ(h->flags, 0);
    KT_EQ(((struct unix_msg *)(h + 1))->ino, ino_of(c));
    KT_SYS_ERR(recv(s, nl_buf, sizeof nl_buf, MSG_DONTWAIT), EAGAIN);
    /* inode 0: EINVAL */
    r.ino = 0;
    KT_SYS_RET(nl_send(s, SOCK_DIAG_BY_FAMILY_, NLM_F_REQUEST_, 12, &r, sizeof r), 16 + sizeof r);
    KT_SYS_RET(recv(s, nl_buf, sizeof nl_buf, 0), 36 + sizeof r);
    KT_EQ(h->type, NLMSG_ERROR_);
    KT_EQ(*(int32_t *)(h + 1), -EINVAL);
    unlink(p.sun_path);
    close(d);
    close(x);
    close(c);
    close(l);
    close(s);
}

static int error_of(int s, uint16_t type, uint16_t flags, const void *body, size_t n) {
    if (nl_send(s, type, flags, 20, body, n) < 0) return -1000;
    ssize_t got = recv(s, nl_buf, sizeof nl_buf, 0);
    struct nlhdr *h = (struct nlhdr *)nl_buf;
    if (got < 20) return -1001;
    if (h->type == NLMSG_DONE_) return 1000 + *(int32_t *)(h + 1);
    if (h->type != NLMSG_ERROR_ || h->seq != 20) return -1002;
    return *(int32_t *)(h + 1);
}

KT_CASE(errors) {
    int s = nl_open(NETLINK_SOCK_DIAG_);
    KT_TRUE(s >= 0, "socket: %s", kt_errname(errno));
    KT_SYS_ERR(socket(AF_NETLINK_, SOCK_STREAM, NETLINK_SOCK_DIAG_), ESOCKTNOSUPPORT);
    int v = 0;
    socklen_t vl = sizeof v;
    KT_SYS_OK(getsockopt(s, SOL_SOCKET, SO_PROTOCOL, &v, &vl));
    KT_EQ(v, NETLINK_SOCK_DIAG_);
    struct inet_req r;
    memset(&r, 0, sizeof r);
    r.family = AF_INET;
    r.protocol = IPPROTO_TCP;
    r.states = ~0u;
    /* another message type */
    KT_EQ(error_of(s, 22, NLM_F_REQUEST_ | NLM_F_DUMP_, &r, sizeof r), -EINVAL);
    /* shorter than sock_diag_req, than inet_diag_req_v2 */
    KT_EQ(error_of(s, SOCK_DIAG_BY_FAMILY_, NLM_F_REQUEST_ | NLM_F_DUMP_, &r, 1), -EINVAL);
    /* family beyond AF_MAX; a family without a handler (AF_AX25) */
    r.family = 46;
    KT_EQ(error_of(s, SOCK_DIAG_BY_FAMILY_, NLM_F_REQUEST_ | NLM_F_DUMP_, &r, sizeof r), -EINVAL);
    r.family = 3;
    KT_EQ(error_of(s, SOCK_DIAG_BY_FAMILY_, NLM_F_REQUEST_ | NLM_F_DUMP_, &r, sizeof r), -ENOENT);
    r.family = AF_INET;
    int e = error_of(s, SOCK_DIAG_BY_FAMILY_, NLM_F_REQUEST_ | NLM_F_DUMP_, &r, 20);
    if (e == -ENOENT) KT_SKIP("no inet_diag (Debian's module not loaded)");
    KT_EQ(e, -EINVAL);
    /* an inet protocol without a handler: the dump ends with -ENOENT */
    r.protocol = 99;
    KT_EQ(error_of(s, SOCK_DIAG_BY_FAMILY_, NLM_F_REQUEST_ | NLM_F_DUMP_, &r, sizeof r), 1000 - ENOENT);
    KT_SYS_ERR(recv(s, nl_buf, sizeof nl_buf, MSG_DONTWAIT), EAGAIN);
    close(s);
}

KT_MAIN()
