/* Network namespaces: unshare(2)/clone(2)/setns(2) with CLONE_NEWNET.
 * A new namespace has its own lo, down and without addresses (connect to
 * 127.0.0.1 is ENETUNREACH, SIOCGIFCONF lists nothing) until it is
 * brought up (SIOCSIFFLAGS: 127.0.0.1 comes with it); its own ports (the
 * same port bound in two namespaces, no connection across), its own
 * abstract AF_UNIX names (path names follow the filesystem), its own
 * /proc/net tables and interface list (if_nameindex: netlink), its nsfs
 * inode; sockets keep the namespace they were made in after setns back;
 * an unprivileged user gets one through a new user namespace, EPERM
 * without. Run as root (the suite's user). */
#include "kt.h"

#include <sched.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <grp.h>
#include <stddef.h>

#ifndef CLONE_NEWNET
#define CLONE_NEWNET 0x40000000
#endif

static unsigned long ino_of(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (unsigned long)st.st_ino : 0;
}

/* lo's flags, -1 on error. */
static int lo_flags(void) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0) return -1;
    struct ifreq r;
    memset(&r, 0, sizeof r);
    strcpy(r.ifr_name, "lo");
    int rc = ioctl(s, SIOCGIFFLAGS, &r);
    close(s);
    return rc == 0 ? (unsigned short)r.ifr_flags : -1;
}

static int lo_up(void) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0) return -1;
    struct ifreq r;
    memset(&r, 0, sizeof r);
    strcpy(r.ifr_name, "lo");
    int rc = ioctl(s, SIOCGIFFLAGS, &r);
    if (rc == 0) {
        r.ifr_flags |= IFF_UP;
        rc = ioctl(s, SIOCSIFFLAGS, &r);
    }
    int e = errno;
    close(s);
    errno = e;
    return rc;
}

/* The number of entries SIOCGIFCONF gives, -1 on error. */
static int ifconf_count(char *first, int size) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0) return -1;
    struct ifreq rs[8];
    struct ifconf c = {.ifc_len = sizeof rs, .ifc_req = rs};
    int rc = ioctl(s, SIOCGIFCONF, &c);
    close(s);
    if (rc != 0) return -1;
    int n = c.ifc_len / (int)sizeof(struct ifreq);
    if (n > 0 && first) snprintf(first, size, "%s %s", rs[0].ifr_name,
                                 inet_ntoa(((struct sockaddr_in *)&rs[0].ifr_addr)->sin_addr));
    return n;
}

static struct sockaddr_in lo_addr(int port) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static int tcp_listener(int port) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) return -1;
    struct sockaddr_in a = lo_addr(port);
    if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 4) != 0) {
        int e = errno;
        close(s);
        errno = e;
        return -1;
    }
    return s;
}

/* connect(2) to 127.0.0.1:port: 0, or the errno. */
static int tcp_connect(int s, int port) {
    struct sockaddr_in a = lo_addr(port);
    return connect(s, (struct sockaddr *)&a, sizeof a) == 0 ? 0 : errno;
}

/* The lines of a text file, -1 when unreadable. */
static int lines_of(const char *path, char *buf, int size) {
    int n = kt_read_text(path, buf, size);
    if (n < 0) return -1;
    int k = 0;
    for (int i = 0; i < n; i++) k += buf[i] == '\n';
    return k;
}

static int new_ns_lo_down(void) {
    unsigned long before = ino_of("/proc/self/ns/net");
    KT_CHILD_CHECK(1, before != 0);
    KT_CHILD_CHECK(2, unshare(CLONE_NEWNET) == 0);
    unsigned long after = ino_of("/proc/self/ns/net");
    KT_CHILD_CHECK(3, after != 0 && after != before);
    char link[64], want[64];
    snprintf(want, sizeof want, "net:[%lu]", after);
    ssize_t n = readlink("/proc/self/ns/net", link, sizeof link - 1);
    KT_CHILD_CHECK(4, n > 0);
    link[n] = 0;
    KT_CHILD_CHECK(5, strcmp(link, want) == 0);
    /* lo: LOOPBACK only, no address */
    KT_CHILD_CHECK(6, lo_flags() == IFF_LOOPBACK);
    KT_CHILD_CHECK(7, ifconf_count(NULL, 0) == 0);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    KT_CHILD_CHECK(8, s >= 0);
    KT_CHILD_CHECK(9, tcp_connect(s, 80) == ENETUNREACH);
    close(s);
    /* 127.0.0.1 can be bound all the same */
    s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in b = lo_addr(0);
    KT_CHILD_CHECK(19, bind(s, (struct sockaddr *)&b, sizeof b) == 0);
    close(s);
    /* no other interface: eth0 stays behind */
    struct ifreq r;
    memset(&r, 0, sizeof r);
    strcpy(r.ifr_name, "eth0");
    s = socket(AF_INET, SOCK_DGRAM, 0);
    KT_CHILD_CHECK(10, ioctl(s, SIOCGIFFLAGS, &r) == -1 && errno == ENODEV);
    memset(&r, 0, sizeof r);
    r.ifr_ifindex = 2;
    KT_CHILD_CHECK(11, ioctl(s, SIOCGIFNAME, &r) == -1 && errno == ENODEV);
    close(s);
    struct if_nameindex *ni = if_nameindex();
    KT_CHILD_CHECK(12, ni != NULL);
    KT_CHILD_CHECK(13, ni[0].if_index == 1 && strcmp(ni[0].if_name, "lo") == 0 && ni[1].if_index == 0);
    if_freenameindex(ni);
    KT_CHILD_CHECK(14, if_nametoindex("eth0") == 0);
    /* /proc/net: the headers, lo; no socket of the parent's */
    char buf[4096];
    KT_CHILD_CHECK(15, lines_of("/proc/net/dev", buf, sizeof buf) == 3);
    KT_CHILD_CHECK(16, strstr(buf, "    lo:") != NULL && strstr(buf, "eth0") == NULL);
    KT_CHILD_CHECK(17, lines_of("/proc/net/tcp", buf, sizeof buf) == 1);
    KT_CHILD_CHECK(18, lines_of("/proc/net/if_inet6", buf, sizeof buf) == 0);
    return 0;
}

KT_CASE(new_namespace_has_lo_down) {
    /* a listener of ours that the child must not see */
    int l = tcp_listener(0);
    KT_TRUE(l >= 0, "listener: %s", kt_errname(errno));
    KT_EQ(kt_in_child(new_ns_lo_down), 0);
    close(l);
}

static int lo_up_tcp(void) {
    KT_CHILD_CHECK(1, unshare(CLONE_NEWNET) == 0);
    KT_CHILD_CHECK(2, lo_up() == 0);
    KT_CHILD_CHECK(3, lo_flags() == (IFF_UP | IFF_LOOPBACK | IFF_RUNNING));
    char first[64];
    KT_CHILD_CHECK(4, ifconf_count(first, sizeof first) == 1);
    KT_CHILD_CHECK(5, strcmp(first, "lo 127.0.0.1") == 0);
    int l = tcp_listener(80);
    KT_CHILD_CHECK(6, l >= 0);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    KT_CHILD_CHECK(7, tcp_connect(c, 80) == 0);
    int a = accept(l, NULL, NULL);
    KT_CHILD_CHECK(8, a >= 0);
    KT_CHILD_CHECK(9, write(c, "ping", 4) == 4);
    char b[8] = {0};
    KT_CHILD_CHECK(10, read(a, b, sizeof b) == 4 && memcmp(b, "ping", 4) == 0);
    char buf[4096];
    /* the listener and both ends of the connection */
    KT_CHILD_CHECK(11, lines_of("/proc/net/tcp", buf, sizeof buf) == 4);
    KT_CHILD_CHECK(12, lines_of("/proc/net/if_inet6", buf, sizeof buf) == 1);
    return 0;
}

KT_CASE(lo_up_then_tcp_inside) {
    KT_EQ(kt_in_child(lo_up_tcp), 0);
}

/* The same port in two namespaces; no connection across. The parent
 * listens on 127.0.0.1:port_a and port_b, the child (in its own
 * namespace) on port_a only. */
static int port_a, port_b;

static int ports_child(void) {
    KT_CHILD_CHECK(1, unshare(CLONE_NEWNET) == 0 && lo_up() == 0);
    int l = tcp_listener(port_a);
    KT_CHILD_CHECK(2, l >= 0);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    KT_CHILD_CHECK(3, tcp_connect(c, port_b) == ECONNREFUSED);
    close(c);
    c = socket(AF_INET, SOCK_STREAM, 0);
    KT_CHILD_CHECK(4, tcp_connect(c, port_a) == 0);
    int a = accept(l, NULL, NULL);
    KT_CHILD_CHECK(5, a >= 0);
    KT_CHILD_CHECK(6, write(a, "in", 2) == 2);
    char b[4] = {0};
    KT_CHILD_CHECK(7, read(c, b, sizeof b) == 2 && strcmp(b, "in") == 0);
    /* UDP too: the parent's port_a datagram socket is not here */
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in ua = lo_addr(port_a);
    KT_CHILD_CHECK(8, bind(u, (struct sockaddr *)&ua, sizeof ua) == 0);
    return 0;
}

KT_CASE(same_port_in_two_namespaces) {
    int la = tcp_listener(0), lb = tcp_listener(0);
    KT_TRUE(la >= 0 && lb >= 0, "listeners: %s", kt_errname(errno));
    struct sockaddr_in a;
    socklen_t n = sizeof a;
    KT_SYS_OK(getsockname(la, (struct sockaddr *)&a, &n));
    port_a = ntohs(a.sin_port);
    n = sizeof a;
    KT_SYS_OK(getsockname(lb, (struct sockaddr *)&a, &n));
    port_b = ntohs(a.sin_port);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in ua = lo_addr(port_a);
    KT_SYS_OK(bind(u, (struct sockaddr *)&ua, sizeof ua));
    KT_EQ(kt_in_child(ports_child), 0);
    /* nothing of the child's reached our listener */
    KT_SYS_OK(fcntl(la, F_SETFL, O_NONBLOCK));
    KT_SYS_ERR(accept(la, NULL, NULL), EAGAIN);
    close(la);
    close(lb);
    close(u);
}

#define ABS_NAME "kt_netns_abstract"
#define PATH_NAME "/tmp/kt_netns_sock"

static socklen_t abs_addr(struct sockaddr_un *u) {
    memset(u, 0, sizeof *u);
    u->sun_family = AF_UNIX;
    memcpy(u->sun_path + 1, ABS_NAME, strlen(ABS_NAME));
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(ABS_NAME));
}

static int unix_child(void) {
    KT_CHILD_CHECK(1, unshare(CLONE_NEWNET) == 0);
    /* /proc/net/unix lists this namespace's sockets only: none yet */
    char buf[4096];
    KT_CHILD_CHECK(9, lines_of("/proc/net/unix", buf, sizeof buf) == 1);
    struct sockaddr_un u;
    socklen_t len = abs_addr(&u);
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    KT_CHILD_CHECK(2, connect(c, (struct sockaddr *)&u, len) == -1 && errno == ECONNREFUSED);
    close(c);
    /* the name is free here */
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    KT_CHILD_CHECK(3, bind(l, (struct sockaddr *)&u, len) == 0 && listen(l, 1) == 0);
    c = socket(AF_UNIX, SOCK_STREAM, 0);
    KT_CHILD_CHECK(4, connect(c, (struct sockaddr *)&u, len) == 0);
    /* a path name is the filesystem's: the parent's listener */
    struct sockaddr_un p = {.sun_family = AF_UNIX};
    strcpy(p.sun_path, PATH_NAME);
    int pc = socket(AF_UNIX, SOCK_STREAM, 0);
    KT_CHILD_CHECK(5, connect(pc, (struct sockaddr *)&p, sizeof p) == 0);
    KT_CHILD_CHECK(6, write(pc, "p", 1) == 1);
    KT_CHILD_CHECK(7, lines_of("/proc/net/unix", buf, sizeof buf) > 1);
    KT_CHILD_CHECK(8, strstr(buf, "@" ABS_NAME) != NULL);
    return 0;
}

KT_CASE(abstract_unix_names_per_namespace) {
    struct sockaddr_un u;
    socklen_t len = abs_addr(&u);
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    KT_SYS_OK(bind(l, (struct sockaddr *)&u, len));
    KT_SYS_OK(listen(l, 1));
    unlink(PATH_NAME);
    struct sockaddr_un p = {.sun_family = AF_UNIX};
    strcpy(p.sun_path, PATH_NAME);
    int pl = socket(AF_UNIX, SOCK_STREAM, 0);
    KT_SYS_OK(bind(pl, (struct sockaddr *)&p, sizeof p));
    KT_SYS_OK(listen(pl, 1));
    KT_EQ(kt_in_child(unix_child), 0);
    int a = KT_SYS_OK(accept(pl, NULL, NULL));
    char b = 0;
    KT_SYS_RET(read(a, &b, 1), 1);
    KT_EQ(b, 'p');
    /* the child's abstract listener never took our name's connections */
    KT_SYS_OK(fcntl(l, F_SETFL, O_NONBLOCK));
    KT_SYS_ERR(accept(l, NULL, NULL), EAGAIN);
    close(a);
    close(l);
    close(pl);
    unlink(PATH_NAME);
}

/* setns back to the first namespace: the nsfs inodes; a socket made in
 * the new namespace keeps it (its listener reachable from its client made
 * there), a socket made after setns is in the old one. */
static int setns_child(void) {
    /* the first namespace's lo is up on ours, down on Linux at boot (the
     * suite does not bring it up): connect's answer there follows it */
    int init_up = lo_flags() & IFF_UP;
    int orig = open("/proc/self/ns/net", O_RDONLY);
    KT_CHILD_CHECK(1, orig >= 0);
    struct stat so, sn;
    KT_CHILD_CHECK(2, fstat(orig, &so) == 0);
    KT_CHILD_CHECK(3, unshare(CLONE_NEWNET) == 0 && lo_up() == 0);
    int mine = open("/proc/self/ns/net", O_RDONLY);
    KT_CHILD_CHECK(4, mine >= 0 && fstat(mine, &sn) == 0 && sn.st_ino != so.st_ino && sn.st_dev == so.st_dev);
    KT_CHILD_CHECK(5, setns(orig, CLONE_NEWUTS) == -1 && errno == EINVAL);
    int l = tcp_listener(81);
    KT_CHILD_CHECK(6, l >= 0);
    int early = socket(AF_INET, SOCK_STREAM, 0);
    KT_CHILD_CHECK(7, early >= 0);
    KT_CHILD_CHECK(8, setns(orig, CLONE_NEWNET) == 0);
    KT_CHILD_CHECK(9, ino_of("/proc/self/ns/net") == so.st_ino);
    int late = socket(AF_INET, SOCK_STREAM, 0);
    KT_CHILD_CHECK(10, tcp_connect(late, 81) == (init_up ? ECONNREFUSED : ENETUNREACH));
    KT_CHILD_CHECK(11, tcp_connect(early, 81) == 0);
    KT_CHILD_CHECK(12, accept(l, NULL, NULL) >= 0);
    /* and in again with nstype 0 */
    KT_CHILD_CHECK(13, setns(mine, 0) == 0 && ino_of("/proc/self/ns/net") == sn.st_ino);
    return 0;
}

KT_CASE(setns_and_sockets_keep_their_namespace) {
    KT_EQ(kt_in_child(setns_child), 0);
}

static int drop_to_1000(void) {
    return setgroups(0, NULL) == 0 && setgid(1000) == 0 && setuid(1000) == 0 &&
           prctl(PR_SET_DUMPABLE, 1) == 0;
}

static int unprivileged_child(void) {
    int orig = open("/proc/self/ns/net", O_RDONLY);
    KT_CHILD_CHECK(1, orig >= 0 && drop_to_1000());
    KT_CHILD_CHECK(2, unshare(CLONE_NEWNET) == -1 && errno == EPERM);
    KT_CHILD_CHECK(3, lo_up() == -1 && errno == EPERM);
    KT_CHILD_CHECK(4, unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0);
    /* root of the new user namespace owns the network namespace */
    KT_CHILD_CHECK(5, lo_up() == 0);
    KT_CHILD_CHECK(6, lo_flags() == (IFF_UP | IFF_LOOPBACK | IFF_RUNNING));
    int l = tcp_listener(8080);
    KT_CHILD_CHECK(7, l >= 0);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    KT_CHILD_CHECK(8, tcp_connect(c, 8080) == 0);
    /* the initial namespace is not this user namespace's */
    KT_CHILD_CHECK(9, setns(orig, CLONE_NEWNET) == -1 && errno == EPERM);
    return 0;
}

KT_CASE(unprivileged_through_a_user_namespace) {
    KT_EQ(kt_in_child(unprivileged_child), 0);
}

/* clone(CLONE_NEWNET): the child's own namespace, the parent's unchanged. */
KT_CASE(clone_newnet) {
    unsigned long mine = ino_of("/proc/self/ns/net");
    int flags = lo_flags();
    pid_t c = (pid_t)syscall(SYS_clone, CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0);
    if (c == 0) {
        unsigned long in = ino_of("/proc/self/ns/net");
        _exit(in != 0 && in != mine && lo_flags() == IFF_LOOPBACK ? 0 : 1);
    }
    KT_TRUE(c > 0, "clone: %s", kt_errname(errno));
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_EQ(ino_of("/proc/self/ns/net"), mine);
    KT_EQ(lo_flags(), flags);
}

/* user.max_net_namespaces: a user's live network namespaces are
 * bounded; ENOSPC beyond (clone and unshare), room again when one goes. */
static int write_text(const char *path, const char *text) {
    int fd = open(path, O_WRONLY);
    if (fd < 0) return -1;
    int n = (int)write(fd, text, strlen(text));
    close(fd);
    return n == (int)strlen(text) ? 0 : -1;
}

static int limit_child(void) {
    /* the earlier cases' namespaces may still count for a moment on
     * Linux (freed in a work queue) */
    int rc = -1;
    for (int i = 0; i < 40 && rc != 0; i++) {
        rc = unshare(CLONE_NEWNET);
        if (rc != 0 && errno != ENOSPC) break;
        if (rc != 0) kt_msleep(50);
    }
    KT_CHILD_CHECK(1, rc == 0);
    /* this one counts: no second one while it lives */
    pid_t g = fork();
    if (g == 0) _exit(unshare(CLONE_NEWNET) == -1 && errno == ENOSPC ? 0 : 1);
    int st;
    KT_CHILD_CHECK(2, waitpid(g, &st, 0) == g && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    g = (pid_t)syscall(SYS_clone, CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0);
    if (g == 0) _exit(0);
    KT_CHILD_CHECK(3, g == -1 && errno == ENOSPC);
    return 0;
}

KT_CASE(max_net_namespaces_is_enospc) {
    char old[32];
    int n = kt_read_text("/proc/sys/user/max_net_namespaces", old, sizeof old);
    KT_TRUE(n > 1 && atoi(old) > 1, "max_net_namespaces: %s", n > 0 ? old : "unreadable");
    KT_SYS_OK(write_text("/proc/sys/user/max_net_namespaces", "1\n"));
    int r = kt_in_child(limit_child);
    /* and after the child's namespace went: room for one again (Linux
     * frees a namespace in a work queue: a little later) */
    pid_t c = -1;
    int e = 0;
    for (int i = 0; i < 40 && c < 0; i++) {
        c = (pid_t)syscall(SYS_clone, CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0);
        if (c == 0) _exit(0);
        e = errno;
        if (c < 0) kt_msleep(50);
    }
    if (c > 0) waitpid(c, NULL, 0);
    KT_SYS_OK(write_text("/proc/sys/user/max_net_namespaces", old));
    KT_EQ(r, 0);
    KT_TRUE(c > 0, "clone after: %s", kt_errname(e));
}

KT_MAIN()
