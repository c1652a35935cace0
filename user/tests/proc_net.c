/*
 * proc_net: the socket tables of /proc/net as Linux 6.1 prints them
 * (get_tcp4_sock, get_tcp6_sock, udp4_format_sock, ip6_dgram_sock_seq_show,
 * unix_seq_show) for the sockets each case makes itself (other lines, e.g.
 * Linux's own sockets, are not looked at), and /proc/self/io's counters
 * (proc_pid_io_accounting). The inode column is the socket's st_ino, the
 * number /proc/PID/fd shows as socket:[N] (netstat -p, lsof join on it).
 */
#include "kt_inet.h"
#include <fcntl.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

static char buf[1 << 16];

static unsigned long ino_of(int fd) {
    struct stat st;
    if (fstat(fd, &st) < 0) return 0;
    return (unsigned long)st.st_ino;
}

/* The line of `text` whose local address field is `local` (e.g.
 * "0100007F:1F90") and whose inode column is `ino` (0: any), copied to
 * `line`; its length, or -1. */
struct row {
    char local[64], remote[64];
    unsigned st, tx, rx, uid;
    unsigned long ino;
    int len;
};

static int find_row(const char *text, const char *local, unsigned long ino, struct row *r) {
    const char *p = text;
    while ((p = strchr(p, '\n'))) {
        p++;
        const char *end = strchr(p, '\n');
        if (!end) break;
        int sl;
        unsigned tr, retr, timeout;
        unsigned long when;
        struct row x;
        memset(&x, 0, sizeof x);
        int n = sscanf(p, "%d: %63s %63s %x %x:%x %x:%lx %x %u %u %lu", &sl, x.local, x.remote, &x.st, &x.tx,
                       &x.rx, &tr, &when, &retr, &x.uid, &timeout, &x.ino);
        if (n == 12 && strcmp(x.local, local) == 0 && (ino == 0 || x.ino == ino)) {
            x.len = (int)(end - p);
            *r = x;
            return 0;
        }
        p = end;
    }
    return -1;
}

static void hex4(char *out, uint32_t net_order_addr, int port) {
    sprintf(out, "%08X:%04X", net_order_addr, port);
}

KT_CASE(lo_up) {
    KT_SYS_RET(kt_lo_up(), 0);
}

KT_CASE(tcp_header_is_padded_to_149) {
    KT_SYS_OK(kt_read_all("/proc/net/tcp", buf, sizeof buf));
    const char *h = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
    KT_TRUE(strncmp(buf, h, strlen(h)) == 0, "got %.160s", buf);
    char *nl = strchr(buf, '\n');
    KT_TRUE(nl != NULL, "no newline");
    KT_EQ((long)(nl - buf), 149);
}

KT_CASE(tcp_listener_and_connection) {
    KT_SYS_RET(kt_lo_up(), 0);
    int l = KT_SYS_OK(kt_listener4(4));
    int port = kt_port_of(l);
    char want[32];
    struct row r;
    hex4(want, htonl(KT_LOOP4), port);
    KT_SYS_OK(kt_read_all("/proc/net/tcp", buf, sizeof buf));
    KT_SYS_RET(find_row(buf, want, ino_of(l), &r), 0);
    KT_EQ(r.st, 0x0A);
    KT_TRUE(strcmp(r.remote, "00000000:0000") == 0, "remote %s", r.remote);
    KT_EQ(r.tx, 0);
    KT_EQ(r.rx, 0);
    KT_EQ(r.uid, geteuid());
    KT_EQ(r.len, 149);

    /* a connection: the client's line and the accepted socket's */
    int c = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    struct sockaddr_in a = kt_sin(KT_LOOP4, port);
    KT_SYS_RET(connect(c, (struct sockaddr *)&a, sizeof a), 0);
    /* not accepted yet: the listener's accept queue holds it (once the
     * handshake's last ACK arrived: the listener is readable) */
    KT_SYS_RET(kt_revents(l, POLLIN, 2000), POLLIN);
    KT_SYS_OK(kt_read_all("/proc/net/tcp", buf, sizeof buf));
    KT_SYS_RET(find_row(buf, want, ino_of(l), &r), 0);
    KT_EQ(r.rx, 1);
    int s = KT_SYS_OK(accept(l, NULL, NULL));
    KT_SYS_RET(write(c, "hello", 5), 5);
    KT_SYS_RET(kt_revents(s, POLLIN, 2000), POLLIN);
    char cl[32], sv[32];
    hex4(cl, htonl(KT_LOOP4), kt_port_of(c));
    hex4(sv, htonl(KT_LOOP4), port);
    KT_SYS_OK(kt_read_all("/proc/net/tcp", buf, sizeof buf));
    KT_SYS_RET(find_row(buf, cl, ino_of(c), &r), 0);
    KT_EQ(r.st, 0x01);
    KT_TRUE(strcmp(r.remote, sv) == 0, "remote %s want %s", r.remote, sv);
    KT_EQ(r.len, 149);
    KT_SYS_RET(find_row(buf, sv, ino_of(s), &r), 0);
    KT_EQ(r.st, 0x01);
    KT_TRUE(strcmp(r.remote, cl) == 0, "remote %s want %s", r.remote, cl);
    /* five bytes wait to be read on the server's side */
    KT_EQ(r.rx, 5);
    KT_EQ(r.tx, 0);
    /* the listener is still there, with its queue empty */
    KT_SYS_RET(find_row(buf, want, ino_of(l), &r), 0);
    KT_EQ(r.st, 0x0A);
    KT_EQ(r.rx, 0);
    unsigned long li = ino_of(l);
    close(s);
    close(c);
    close(l);
    /* gone once closed (the connections may linger with inode 0) */
    KT_SYS_OK(kt_read_all("/proc/net/tcp", buf, sizeof buf));
    KT_SYS_RET(find_row(buf, want, li, &r), -1);
}

KT_CASE(bound_tcp_socket_is_not_listed) {
    KT_SYS_RET(kt_lo_up(), 0);
    int s = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    struct sockaddr_in a = kt_sin(KT_LOOP4, 0);
    KT_SYS_RET(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    char want[32];
    struct row r;
    hex4(want, htonl(KT_LOOP4), kt_port_of(s));
    KT_SYS_OK(kt_read_all("/proc/net/tcp", buf, sizeof buf));
    KT_SYS_RET(find_row(buf, want, ino_of(s), &r), -1);
    close(s);
}

KT_CASE(udp_bound_then_connected) {
    KT_SYS_RET(kt_lo_up(), 0);
    int u = KT_SYS_OK(socket(AF_INET, SOCK_DGRAM, 0));
    struct sockaddr_in a = kt_sin(KT_LOOP4, 0);
    KT_SYS_RET(bind(u, (struct sockaddr *)&a, sizeof a), 0);
    char want[32];
    struct row r;
    hex4(want, htonl(KT_LOOP4), kt_port_of(u));
    KT_SYS_OK(kt_read_all("/proc/net/udp", buf, sizeof buf));
    const char *h = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
                    "inode ref pointer drops";
    KT_TRUE(strncmp(buf, h, strlen(h)) == 0, "got %.160s", buf);
    KT_EQ((long)(strchr(buf, '\n') - buf), 127);
    KT_SYS_RET(find_row(buf, want, ino_of(u), &r), 0);
    KT_EQ(r.st, 0x07);
    KT_TRUE(strcmp(r.remote, "00000000:0000") == 0, "remote %s", r.remote);
    KT_EQ(r.uid, geteuid());
    KT_EQ(r.len, 127);
    struct sockaddr_in peer = kt_sin(KT_LOOP4, 9);
    KT_SYS_RET(connect(u, (struct sockaddr *)&peer, sizeof peer), 0);
    KT_SYS_OK(kt_read_all("/proc/net/udp", buf, sizeof buf));
    KT_SYS_RET(find_row(buf, want, ino_of(u), &r), 0);
    KT_EQ(r.st, 0x01);
    KT_TRUE(strcmp(r.remote, "0100007F:0009") == 0, "remote %s", r.remote);
    close(u);
    /* an unbound datagram socket is in no table */
    int v = KT_SYS_OK(socket(AF_INET, SOCK_DGRAM, 0));
    unsigned long vi = ino_of(v);
    KT_SYS_OK(kt_read_all("/proc/net/udp", buf, sizeof buf));
    char needle[32];
    sprintf(needle, " %lu ", vi);
    KT_TRUE(strstr(buf, needle) == NULL, "unbound socket %lu listed", vi);
    close(v);
}

KT_CASE(tcp6_and_udp6) {
    KT_SYS_RET(kt_lo_up(), 0);
    int l = KT_SYS_OK(socket(AF_INET6, SOCK_STREAM, 0));
    struct sockaddr_in6 a = kt_sin6(&in6addr_loopback, 0);
    KT_SYS_RET(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    KT_SYS_RET(listen(l, 1), 0);
    char want[64];
    struct row r;
    sprintf(want, "00000000000000000000000001000000:%04X", kt_port_of(l));
    KT_SYS_OK(kt_read_all("/proc/net/tcp6", buf, sizeof buf));
    const char *h = "  sl  local_address                         remote_address                        st tx_queue "
                    "rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
    KT_TRUE(strncmp(buf, h, strlen(h)) == 0, "got %.200s", buf);
    KT_SYS_RET(find_row(buf, want, ino_of(l), &r), 0);
    KT_EQ(r.st, 0x0A);
    KT_TRUE(strcmp(r.remote, "00000000000000000000000000000000:0000") == 0, "remote %s", r.remote);
    close(l);

    int u = KT_SYS_OK(socket(AF_INET6, SOCK_DGRAM, 0));
    struct sockaddr_in6 any = kt_sin6(&in6addr_any, 0);
    KT_SYS_RET(bind(u, (struct sockaddr *)&any, sizeof any), 0);
    sprintf(want, "00000000000000000000000000000000:%04X", kt_port_of(u));
    KT_SYS_OK(kt_read_all("/proc/net/udp6", buf, sizeof buf));
    const char *h6 = "  sl  local_address                         remote_address                        st "
                     "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n";
    KT_TRUE(strncmp(buf, h6, strlen(h6)) == 0, "got %.200s", buf);
    KT_SYS_RET(find_row(buf, want, ino_of(u), &r), 0);
    KT_EQ(r.st, 0x07);
    /* a v6 socket is not in the v4 table */
    KT_SYS_OK(kt_read_all("/proc/net/udp", buf, sizeof buf));
    char needle[32];
    sprintf(needle, " %lu ", ino_of(u));
    KT_TRUE(strstr(buf, needle) == NULL, "v6 socket in /proc/net/udp");
    close(u);
}

/* The /proc/net/unix line of inode `ino`: flags, type, state and the
 * path part (after the inode), or -1. */
static int unix_row(unsigned long ino, unsigned *flags, unsigned *type, unsigned *st, char *path) {
    const char *p = buf;
    while ((p = strchr(p, '\n'))) {
        p++;
        unsigned long ref, proto, i;
        char ptr[40];
        int off = 0;
        if (sscanf(p, "%39[0-9a-f]: %lx %lx %x %x %x %lu%n", ptr, &ref, &proto, flags, type, st, &i, &off) == 7 &&
            i == ino) {
            const char *e = strchr(p + off, '\n');
            size_t n = e ? (size_t)(e - (p + off)) : strlen(p + off);
            memcpy(path, p + off, n);
            path[n] = 0;
            return 0;
        }
    }
    return -1;
}

KT_CASE(unix_sockets) {
    KT_SYS_OK(kt_read_all("/proc/net/unix", buf, sizeof buf));
    const char *h = "Num       RefCount Protocol Flags    Type St Inode Path\n";
    KT_TRUE(strncmp(buf, h, strlen(h)) == 0, "got %.100s", buf);

    const char *path = "/tmp/kt_proc_net_unix.sock";
    unlink(path);
    int l = KT_SYS_OK(socket(AF_UNIX, SOCK_STREAM, 0));
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    strcpy(a.sun_path, path);
    KT_SYS_RET(bind(l, (struct sockaddr *)&a, sizeof a), 0);
    KT_SYS_RET(listen(l, 2), 0);
    int sv[2];
    KT_SYS_RET(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    int d = KT_SYS_OK(socket(AF_UNIX, SOCK_DGRAM, 0));
    int ab = KT_SYS_OK(socket(AF_UNIX, SOCK_SEQPACKET, 0));
    struct sockaddr_un an;
    memset(&an, 0, sizeof an);
    an.sun_family = AF_UNIX;
    memcpy(an.sun_path, "\0kt_abs\0x", 9);
    KT_SYS_RET(bind(ab, (struct sockaddr *)&an, offsetof(struct sockaddr_un, sun_path) + 9), 0);

    KT_SYS_OK(kt_read_all("/proc/net/unix", buf, sizeof buf));
    unsigned flags, type, st;
    char p[256];
    KT_SYS_RET(unix_row(ino_of(l), &flags, &type, &st, p), 0);
    KT_EQ(flags, 0x10000);
    KT_EQ(type, 1);
    KT_EQ(st, 1);
    KT_TRUE(strcmp(p, " /tmp/kt_proc_net_unix.sock") == 0, "path '%s'", p);
    KT_SYS_RET(unix_row(ino_of(sv[0]), &flags, &type, &st, p), 0);
    KT_EQ(flags, 0);
    KT_EQ(type, 1);
    KT_EQ(st, 3);
    KT_TRUE(strcmp(p, "") == 0, "path '%s'", p);
    KT_SYS_RET(unix_row(ino_of(sv[1]), &flags, &type, &st, p), 0);
    KT_EQ(st, 3);
    KT_SYS_RET(unix_row(ino_of(d), &flags, &type, &st, p), 0);
    KT_EQ(type, 2);
    KT_EQ(st, 1);
    KT_SYS_RET(unix_row(ino_of(ab), &flags, &type, &st, p), 0);
    KT_EQ(type, 5);
    KT_TRUE(strcmp(p, " @kt_abs@x") == 0, "path '%s'", p);
    unsigned long li = ino_of(l);
    close(l);
    close(sv[0]);
    close(sv[1]);
    close(d);
    close(ab);
    unlink(path);
    KT_SYS_OK(kt_read_all("/proc/net/unix", buf, sizeof buf));
    KT_SYS_RET(unix_row(li, &flags, &type, &st, p), -1);
}

KT_CASE(fd_link_names_the_same_inode) {
    int s = KT_SYS_OK(socket(AF_UNIX, SOCK_DGRAM, 0));
    char link[64], want[64], got[64];
    sprintf(link, "/proc/self/fd/%d", s);
    sprintf(want, "socket:[%lu]", ino_of(s));
    ssize_t n = KT_SYS_OK(readlink(link, got, sizeof got - 1));
    got[n] = 0;
    KT_TRUE(strcmp(got, want) == 0, "%s vs %s", got, want);
    close(s);
}

/* ---- /proc/self/io ---- */

struct io {
    unsigned long long rchar, wchar, syscr, syscw, rb, wb, cwb;
};

static int read_io(const char *path, struct io *io) {
    static char t[512];
    if (kt_read_all(path, t, sizeof t) < 0) return -1;
    int n = sscanf(t,
                   "rchar: %llu\nwchar: %llu\nsyscr: %llu\nsyscw: %llu\nread_bytes: %llu\nwrite_bytes: "
                   "%llu\ncancelled_write_bytes: %llu\n",
                   &io->rchar, &io->wchar, &io->syscr, &io->syscw, &io->rb, &io->wb, &io->cwb);
    return n == 7 ? (int)strlen(t) : -1;
}

KT_CASE(self_io_counts_reads_and_writes) {
    int p[2];
    KT_SYS_RET(pipe(p), 0);
    struct io a, b;
    int alen = KT_SYS_OK(read_io("/proc/self/io", &a));
    char data[100] = {0};
    KT_SYS_RET(write(p[1], data, 100), 100);
    KT_SYS_RET(read(p[0], data, 100), 100);
    KT_SYS_OK(read_io("/proc/self/io", &b));
    /* between the two snapshots: the first snapshot's read (its bytes)
     * and its read of 0 at the end, the pipe's write and read */
    KT_EQ((long long)(b.rchar - a.rchar), alen + 100);
    KT_EQ((long long)(b.syscr - a.syscr), 3);
    KT_EQ((long long)(b.wchar - a.wchar), 100);
    KT_EQ((long long)(b.syscw - a.syscw), 1);
    close(p[0]);
    close(p[1]);
}

KT_CASE(io_of_a_reaped_child_adds_to_the_parent) {
    struct io a, b;
    KT_SYS_OK(read_io("/proc/self/io", &a));
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        static char big[5000];
        for (int i = 0; i < 3; i++)
            if (write(fd, big, sizeof big) != (ssize_t)sizeof big) _exit(1);
        _exit(0);
    }
    KT_TRUE(pid > 0, "fork");
    KT_WAIT_STATUS(pid, kt_exited(0));
    KT_SYS_OK(read_io("/proc/self/io", &b));
    KT_TRUE(b.wchar - a.wchar >= 15000, "wchar %llu -> %llu", a.wchar, b.wchar);
    KT_TRUE(b.syscw - a.syscw >= 3, "syscw %llu -> %llu", a.syscw, b.syscw);
}

KT_CASE(io_file_mode_and_thread_file) {
    struct stat st;
    KT_SYS_RET(stat("/proc/self/io", &st), 0);
    KT_EQ(st.st_mode & 07777, 0400);
    char path[64];
    struct io a;
    sprintf(path, "/proc/self/task/%d/io", getpid());
    KT_SYS_OK(read_io(path, &a));
    KT_TRUE(a.syscr > 0, "syscr %llu", a.syscr);
}

KT_CASE(other_users_io_is_eacces) {
    if (geteuid() != 0) KT_SKIP("needs root");
    pid_t pid = fork();
    if (pid == 0) {
        if (setuid(65534) != 0) _exit(2);
        int fd = open("/proc/1/io", O_RDONLY);
        _exit(fd < 0 && errno == EACCES ? 0 : 1);
    }
    KT_TRUE(pid > 0, "fork");
    KT_WAIT_STATUS(pid, kt_exited(0));
}

KT_MAIN()
