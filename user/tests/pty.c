/* Unix 98 pseudo-terminals as Linux has them: /dev/ptmx makes a pair,
 * /dev/pts/N is its slave (locked until unlockpt), what the master writes
 * is the slave's typed input through N_TTY (echoed back to the master),
 * the slave's output reaches the master with ONLCR, ^C typed at the
 * master signals the slave's foreground group, a session leader
 * acquires the slave as its controlling terminal (/dev/tty then names
 * it), closing the master hangs the slave up, closing the slave makes
 * the master read EIO; TIOCGPTN, TIOCSPTLCK, TIOCGPTLCK, TIOCGPTPEER,
 * window sizes with SIGWINCH; packet mode (TIOCPKT's status byte), TIOCSTI
 * on either side, TIOCOUTQ/TCFLSH/TCXONC/TIOCGSID/TIOCSCTTY on the master,
 * /proc/sys/kernel/pty/{max,nr,reserve} (max enforced: ENOSPC). */
#define _GNU_SOURCE
#include "kt.h"
#include <sys/select.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER 0x5441
#endif
#ifndef TIOCGPKT
#define TIOCGPKT 0x80045438
#endif

static int open_master(void) {
    return posix_openpt(O_RDWR | O_NOCTTY);
}

/* A pair with the slave unlocked and opened (O_NOCTTY); returns the
 * master, *slave the slave fd. */
static int pair(int *slave) {
    int m = open_master();
    if (m < 0) return -1;
    if (grantpt(m) != 0 || unlockpt(m) != 0) return -1;
    *slave = open(ptsname(m), O_RDWR | O_NOCTTY);
    return *slave < 0 ? -1 : m;
}

/* Reads what the master has within a short time (nonblocking reads
 * after a poll). */
static int drain(int m, char *buf, int cap) {
    int n = 0;
    struct pollfd p = {.fd = m, .events = POLLIN};
    while (n < cap - 1 && poll(&p, 1, 200) == 1 && (p.revents & POLLIN)) {
        int r = read(m, buf + n, cap - 1 - n);
        if (r <= 0) break;
        n += r;
    }
    buf[n] = 0;
    return n;
}

KT_CASE(ptmx_makes_a_locked_pair_with_a_pts_node) {
    int m = KT_SYS_OK(open_master());
    unsigned n = 99999;
    KT_SYS_OK(ioctl(m, TIOCGPTN, &n));
    char want[32];
    snprintf(want, sizeof want, "/dev/pts/%u", n);
    KT_TRUE(strcmp(ptsname(m), want) == 0, "ptsname %s, TIOCGPTN %u", ptsname(m), n);
    int locked = -1;
    KT_SYS_OK(ioctl(m, TIOCGPTLCK, &locked));
    KT_EQ(locked, 1);
    /* locked: the slave does not open */
    KT_SYS_ERR(open(want, O_RDWR | O_NOCTTY), EIO);
    KT_SYS_OK(unlockpt(m));
    KT_SYS_OK(ioctl(m, TIOCGPTLCK, &locked));
    KT_EQ(locked, 0);
    int s = KT_SYS_OK(open(want, O_RDWR | O_NOCTTY));
    struct stat st;
    KT_SYS_OK(fstat(s, &st));
    KT_TRUE(S_ISCHR(st.st_mode), "mode %o", st.st_mode);
    KT_EQ(major(st.st_rdev), 136u);
    KT_EQ(minor(st.st_rdev), n);
    KT_EQ(st.st_mode & 0777, 0620u);
    KT_EQ(st.st_gid, 5u);
    KT_SYS_OK(fstat(m, &st));
    KT_EQ(major(st.st_rdev), 5u);
    KT_EQ(minor(st.st_rdev), 2u);
    KT_EQ(isatty(m), 1);
    KT_EQ(isatty(s), 1);
    char link[64] = "", fdpath[32];
    snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", s);
    KT_SYS_OK(readlink(fdpath, link, sizeof link - 1));
    KT_TRUE(strcmp(link, want) == 0, "fd link %s", link);
    const char *tn = ttyname(s);
    KT_TRUE(tn && strcmp(tn, want) == 0, "ttyname %s (errno %d)", tn ? tn : "NULL", errno);
    struct stat byname;
    KT_SYS_OK(stat(want, &byname));
    KT_SYS_OK(fstat(s, &st));
    KT_EQ(byname.st_ino, st.st_ino);
    KT_EQ(byname.st_dev, st.st_dev);
    close(s);
    close(m);
    /* the node goes with the pair */
    KT_SYS_ERR(stat(want, &st), ENOENT);
}

KT_CASE(master_input_is_typed_at_the_slave) {
    int s, m = KT_SYS_OK(pair(&s));
    KT_SYS_RET(write(m, "hello\r", 6), 6);
    char buf[64];
    /* canonical: a line, the CR mapped to NL by ICRNL */
    KT_SYS_RET(read(s, buf, sizeof buf), 6);
    KT_TRUE(memcmp(buf, "hello\n", 6) == 0, "slave read %.6s", buf);
    /* the echo, with ONLCR */
    drain(m, buf, sizeof buf);
    KT_TRUE(strcmp(buf, "hello\r\n") == 0, "echo %s", buf);
    /* the slave's output */
    KT_SYS_RET(write(s, "out\nput", 7), 7);
    drain(m, buf, sizeof buf);
    KT_TRUE(strcmp(buf, "out\r\nput") == 0, "output %s", buf);
    /* raw, no echo */
    struct termios t;
    KT_SYS_OK(tcgetattr(s, &t));
    cfmakeraw(&t);
    KT_SYS_OK(tcsetattr(s, TCSANOW, &t));
    KT_SYS_RET(write(m, "a\rb", 3), 3);
    KT_SYS_RET(read(s, buf, sizeof buf), 3);
    KT_TRUE(memcmp(buf, "a\rb", 3) == 0, "raw %.3s", buf);
    KT_SYS_RET(write(s, "x\n", 2), 2);
    KT_EQ(drain(m, buf, sizeof buf), 2);
    KT_TRUE(strcmp(buf, "x\n") == 0, "raw output %s", buf);
    /* the master sees the slave's termios */
    struct termios mt;
    KT_SYS_OK(tcgetattr(m, &mt));
    KT_EQ(mt.c_lflag & ICANON, 0u);
    close(s);
    close(m);
}

KT_CASE(closing_the_slave_makes_the_master_read_eio) {
    int s, m = KT_SYS_OK(pair(&s));
    KT_SYS_RET(write(s, "bye", 3), 3);
    close(s);
    struct pollfd p = {.fd = m, .events = POLLIN};
    KT_SYS_RET(poll(&p, 1, 1000), 1);
    KT_TRUE(p.revents & POLLHUP, "revents %#x", p.revents);
    char buf[8];
    KT_SYS_RET(read(m, buf, sizeof buf), 3);
    KT_SYS_ERR(read(m, buf, sizeof buf), EIO);
    close(m);
}

KT_CASE(closing_the_master_hangs_the_slave_up) {
    int s, m = KT_SYS_OK(pair(&s));
    close(m);
    char buf[8];
    KT_SYS_RET(read(s, buf, sizeof buf), 0);
    KT_SYS_ERR(write(s, "x", 1), EIO);
    struct pollfd p = {.fd = s, .events = POLLIN | POLLOUT};
    KT_SYS_RET(poll(&p, 1, 0), 1);
    KT_TRUE((p.revents & (POLLHUP | POLLIN)) == (POLLHUP | POLLIN), "revents %#x", p.revents);
    struct termios t;
    KT_SYS_ERR(tcgetattr(s, &t), EIO);
    close(s);
}

static volatile sig_atomic_t winched;
static void on_winch(int sig) {
    (void)sig;
    winched = 1;
}

/* The child of a session whose controlling terminal is the slave: it
 * reports its checks on `rep` and waits for ^C. */
static void session_child(const char *name, int rep) {
    char r = 0;
    if (setsid() < 0) r = 1;
    int s = open(name, O_RDWR); /* no O_NOCTTY: acquired */
    if (!r && s < 0) r = 2;
    if (!r && tcgetpgrp(s) != getpid()) r = 3;
    if (!r && tcgetsid(s) != getpid()) r = 4;
    int t = open("/dev/tty", O_RDWR);
    if (!r && t < 0) r = 5;
    if (!r && write(t, "via tty\n", 8) != 8) r = 6;
    /* no SA_RESTART: the read returns EINTR */
    struct sigaction sa = {.sa_handler = on_winch};
    sigaction(SIGWINCH, &sa, 0);
    write(rep, &r, 1);
    char buf[8];
    /* a winsize change arrives as SIGWINCH, then ^C kills us in read */
    while (!winched) read(s, buf, sizeof buf);
    r = 'W';
    write(rep, &r, 1);
    for (;;) read(s, buf, sizeof buf);
}

KT_CASE(a_session_leader_gets_the_slave_as_its_terminal) {
    int m = KT_SYS_OK(open_master());
    KT_SYS_OK(grantpt(m));
    KT_SYS_OK(unlockpt(m));
    char name[32];
    snprintf(name, sizeof name, "%s", ptsname(m));
    int rep[2];
    KT_SYS_OK(pipe(rep));
    pid_t c = KT_FORK();
    if (c == 0) {
        close(rep[0]);
        session_child(name, rep[1]);
        _exit(0);
    }
    close(rep[1]);
    char r = -1;
    KT_SYS_RET(read(rep[0], &r, 1), 1);
    KT_EQ(r, 0);
    char buf[64];
    drain(m, buf, sizeof buf);
    KT_TRUE(strcmp(buf, "via tty\r\n") == 0, "from /dev/tty: %s", buf);
    /* the master sees the slave's foreground group */
    pid_t pg = -1;
    KT_SYS_OK(ioctl(m, TIOCGPGRP, &pg));
    KT_EQ(pg, c);
    struct winsize w = {.ws_row = 33, .ws_col = 101};
    KT_SYS_OK(ioctl(m, TIOCSWINSZ, &w));
    KT_SYS_RET(read(rep[0], &r, 1), 1);
    KT_EQ(r, 'W');
    KT_SYS_RET(write(m, "\x03", 1), 1);
    KT_WAIT_STATUS(c, kt_killed(SIGINT));
    struct winsize g;
    KT_SYS_OK(ioctl(m, TIOCGWINSZ, &g));
    KT_EQ(g.ws_row, 33);
    KT_EQ(g.ws_col, 101);
    close(rep[0]);
    close(m);
}

KT_CASE(tiocgptpeer_opens_the_slave) {
    int m = KT_SYS_OK(open_master());
    KT_SYS_OK(unlockpt(m));
    int s = KT_SYS_OK(ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
    KT_EQ(fcntl(s, F_GETFD), FD_CLOEXEC);
    unsigned n;
    KT_SYS_OK(ioctl(m, TIOCGPTN, &n));
    struct stat st;
    KT_SYS_OK(fstat(s, &st));
    KT_EQ(minor(st.st_rdev), n);
    char want[32];
    snprintf(want, sizeof want, "/dev/pts/%u", n);
    const char *tn = ttyname(s);
    KT_TRUE(tn && strcmp(tn, want) == 0, "ttyname %s", tn ? tn : "NULL");
    KT_SYS_RET(write(s, "p", 1), 1);
    char buf[8];
    KT_EQ(drain(m, buf, sizeof buf), 1);
    /* a slave fd has no TIOCGPTN */
    KT_SYS_ERR(ioctl(s, TIOCGPTN, &n), ENOTTY);
    close(s);
    close(m);
}

KT_CASE(indices_are_the_lowest_free) {
    int m[4];
    unsigned n[4];
    for (int i = 0; i < 4; i++) {
        m[i] = KT_SYS_OK(open_master());
        KT_SYS_OK(ioctl(m[i], TIOCGPTN, &n[i]));
    }
    for (int i = 1; i < 4; i++) KT_TRUE(n[i] > n[i - 1], "%u after %u", n[i], n[i - 1]);
    close(m[1]);
    int again = KT_SYS_OK(open_master());
    unsigned k;
    KT_SYS_OK(ioctl(again, TIOCGPTN, &k));
    KT_EQ(k, n[1]);
    close(again);
    for (int i = 0; i < 4; i++)
        if (i != 1) close(m[i]);
}

/* One read of the master after it polls readable (or urgent) within a
 * second; the bytes read, -1 on a timeout. */
static int read1(int m, unsigned char *buf, int cap) {
    struct pollfd p = {.fd = m, .events = POLLIN | POLLPRI};
    if (poll(&p, 1, 1000) != 1) return -1;
    return (int)read(m, buf, (size_t)cap);
}

/* The status byte a packet-mode master reads next. */
#define KT_STATUS_BYTE(m, want)                                                           \
    do {                                                                                  \
        unsigned char b_[16];                                                             \
        struct pollfd p_ = {.fd = (m), .events = POLLPRI};                                \
        KT_SYS_RET(poll(&p_, 1, 1000), 1);                                                \
        KT_TRUE(p_.revents & POLLPRI, "revents %#x", p_.revents);                         \
        KT_SYS_RET(read((m), b_, sizeof b_), 1);                                          \
        KT_EQ(b_[0], (want));                                                             \
    } while (0)

/* The status bits a packet-mode master reads until they add up to `want`:
 * Linux may hand one event's bits over in two reads (^C's flushes and the
 * output's restart come from its flush work, and a reader can come in
 * between: a full --linux run read 0x3, then 0x8). */
#define KT_STATUS_BITS(m, want)                                                           \
    do {                                                                                  \
        unsigned acc_ = 0;                                                                \
        for (int i_ = 0; i_ < 4 && acc_ != (unsigned)(want); i_++) {                      \
            unsigned char b_[16];                                                         \
            struct pollfd p_ = {.fd = (m), .events = POLLPRI};                            \
            if (poll(&p_, 1, 1000) != 1) break;                                           \
            KT_SYS_RET(read((m), b_, sizeof b_), 1);                                      \
            acc_ |= b_[0];                                                                \
        }                                                                                 \
        KT_EQ(acc_, (unsigned)(want));                                                    \
    } while (0)

KT_CASE(packet_mode_status_bytes) {
    int s, m = KT_SYS_OK(pair(&s));
    int on = 1, got = -1;
    KT_SYS_OK(ioctl(m, TIOCGPKT, &got));
    KT_EQ(got, 0);
    KT_SYS_OK(ioctl(m, TIOCPKT, &on));
    KT_SYS_OK(ioctl(m, TIOCGPKT, &got));
    KT_EQ(got, 1);
    /* the slave has neither */
    KT_SYS_ERR(ioctl(s, TIOCPKT, &on), ENOTTY);
    KT_SYS_ERR(ioctl(s, TIOCGPKT, &got), ENOTTY);
    unsigned char buf[64];
    /* data comes after a TIOCPKT_DATA byte */
    KT_SYS_RET(write(s, "ab", 2), 2);
    KT_EQ(read1(m, buf, sizeof buf), 3);
    KT_TRUE(memcmp(buf, "\0ab", 3) == 0, "got %02x %02x %02x", buf[0], buf[1], buf[2]);
    /* flushes of the slave */
    KT_SYS_OK(tcflush(s, TCIFLUSH));
    KT_STATUS_BYTE(m, TIOCPKT_FLUSHREAD);
    KT_SYS_OK(tcflush(s, TCOFLUSH));
    KT_STATUS_BYTE(m, TIOCPKT_FLUSHWRITE);
    KT_SYS_OK(tcflush(s, TCIOFLUSH));
    KT_STATUS_BYTE(m, TIOCPKT_FLUSHREAD | TIOCPKT_FLUSHWRITE);
    /* the slave's output stopped and restarted */
    KT_SYS_OK(tcflow(s, TCOOFF));
    KT_STATUS_BYTE(m, TIOCPKT_STOP);
    KT_SYS_OK(tcflow(s, TCOON));
    KT_STATUS_BYTE(m, TIOCPKT_START);
    KT_SYS_OK(tcflow(s, TCOOFF));
    KT_SYS_OK(tcflow(s, TCOON));
    KT_STATUS_BYTE(m, TIOCPKT_START);
    /* ^S/^Q flow control switched off and on */
    struct termios t;
    KT_SYS_OK(tcgetattr(s, &t));
    t.c_iflag &= ~IXON;
    KT_SYS_OK(tcsetattr(s, TCSANOW, &t));
    KT_STATUS_BYTE(m, TIOCPKT_NOSTOP);
    t.c_iflag |= IXON;
    KT_SYS_OK(tcsetattr(m, TCSANOW, &t));
    KT_STATUS_BYTE(m, TIOCPKT_DOSTOP);
    /* ^S typed at the master, then ^C: isig flushes both ways and IXON
     * restarts the output; the echo follows as data */
    KT_SYS_RET(write(m, "\x13", 1), 1);
    KT_STATUS_BYTE(m, TIOCPKT_STOP);
    KT_SYS_RET(write(m, "\x03", 1), 1);
    KT_STATUS_BITS(m, TIOCPKT_FLUSHREAD | TIOCPKT_FLUSHWRITE | TIOCPKT_START);
    KT_EQ(read1(m, buf, sizeof buf), 3);
    KT_TRUE(memcmp(buf, "\0^C", 3) == 0, "echo %02x %c%c", buf[0], buf[1], buf[2]);
    /* a one-byte read gets the data byte alone */
    KT_SYS_RET(write(s, "z", 1), 1);
    KT_EQ(read1(m, buf, 1), 1);
    KT_EQ(buf[0], TIOCPKT_DATA);
    KT_EQ(read1(m, buf, sizeof buf), 2);
    KT_EQ(buf[1], 'z');
    /* off: plain data, and nothing recorded */
    on = 0;
    KT_SYS_OK(ioctl(m, TIOCPKT, &on));
    KT_SYS_OK(tcflush(s, TCIFLUSH));
    KT_SYS_RET(write(s, "y", 1), 1);
    KT_EQ(read1(m, buf, sizeof buf), 1);
    KT_EQ(buf[0], 'y');
    on = 1;
    KT_SYS_OK(ioctl(m, TIOCPKT, &on));
    struct pollfd p = {.fd = m, .events = POLLIN | POLLPRI};
    KT_SYS_RET(poll(&p, 1, 100), 0);
    close(s);
    close(m);
}

/* select(2) on a packet-mode master: a pending status byte puts it in
 * the except set (n_tty_poll's POLLPRI) and, as it is also readable
 * (POLLIN), in the read set; once the byte is read neither; data alone
 * is read-set only. */
KT_CASE(select_except_set_reports_packet_status) {
    int s, m = KT_SYS_OK(pair(&s));
    int on = 1;
    KT_SYS_OK(ioctl(m, TIOCPKT, &on));
    fd_set r, w, e;
    struct timeval tv;
#define KT_SELECT(want)                                                                   \
    do {                                                                                  \
        FD_ZERO(&r);                                                                      \
        FD_ZERO(&w);                                                                      \
        FD_ZERO(&e);                                                                      \
        FD_SET(m, &r);                                                                    \
        FD_SET(m, &e);                                                                    \
        tv = (struct timeval){0, (want) ? 1000000 : 50000};                               \
        KT_SYS_RET(select(m + 1, &r, &w, &e, &tv), (want));                               \
    } while (0)
    KT_SELECT(0);
    KT_SYS_OK(tcflush(s, TCIFLUSH));
    KT_SELECT(2);
    KT_TRUE(FD_ISSET(m, &r) && FD_ISSET(m, &e), "read %d except %d", FD_ISSET(m, &r), FD_ISSET(m, &e));
    /* a select that asks only for the except set sees it too */
    FD_ZERO(&e);
    FD_SET(m, &e);
    tv = (struct timeval){1, 0};
    KT_SYS_RET(select(m + 1, 0, 0, &e, &tv), 1);
    KT_TRUE(FD_ISSET(m, &e), "except set cleared");
    unsigned char b[8];
    KT_SYS_RET(read(m, b, sizeof b), 1);
    KT_EQ(b[0], TIOCPKT_FLUSHREAD);
    KT_SELECT(0);
    KT_SYS_RET(write(s, "x", 1), 1);
    KT_SELECT(1);
    KT_TRUE(FD_ISSET(m, &r) && !FD_ISSET(m, &e), "read %d except %d", FD_ISSET(m, &r), FD_ISSET(m, &e));
#undef KT_SELECT
    close(s);
    close(m);
}

KT_CASE(slave_tcoflush_leaves_what_the_master_can_read) {
    int s, m = KT_SYS_OK(pair(&s));
    KT_SYS_RET(write(s, "keep", 4), 4);
    unsigned char buf[16];
    struct pollfd p = {.fd = m, .events = POLLIN};
    KT_SYS_RET(poll(&p, 1, 1000), 1);
    KT_SYS_OK(tcflush(s, TCOFLUSH));
    KT_EQ(read1(m, buf, sizeof buf), 4);
    /* the master's TCIFLUSH drops it; its TCOFLUSH leaves typed input */
    KT_SYS_RET(write(s, "gone", 4), 4);
    KT_SYS_RET(poll(&p, 1, 1000), 1);
    KT_SYS_OK(tcflush(m, TCIFLUSH));
    KT_SYS_RET(poll(&p, 1, 100), 0);
    struct termios t;
    KT_SYS_OK(tcgetattr(s, &t));
    cfmakeraw(&t);
    KT_SYS_OK(tcsetattr(s, TCSANOW, &t));
    KT_SYS_RET(write(m, "typed", 5), 5);
    struct pollfd ps = {.fd = s, .events = POLLIN};
    KT_SYS_RET(poll(&ps, 1, 1000), 1);
    KT_SYS_OK(tcflush(m, TCOFLUSH));
    KT_SYS_RET(read(s, buf, sizeof buf), 5);
    KT_SYS_ERR(tcflush(m, 3), EINVAL);
    close(s);
    close(m);
}

KT_CASE(master_ioctls_outq_tcxonc_tiocgsid) {
    int s, m = KT_SYS_OK(pair(&s));
    struct termios t;
    KT_SYS_OK(tcgetattr(s, &t));
    cfmakeraw(&t);
    KT_SYS_OK(tcsetattr(s, TCSANOW, &t));
    /* TIOCOUTQ is 0 on both sides whatever is queued; FIONREAD counts */
    KT_SYS_RET(write(s, "abc", 3), 3);
    KT_SYS_RET(write(m, "de", 2), 2);
    struct pollfd p = {.fd = m, .events = POLLIN};
    KT_SYS_RET(poll(&p, 1, 1000), 1);
    int n = -1;
    KT_SYS_OK(ioctl(m, TIOCOUTQ, &n));
    KT_EQ(n, 0);
    KT_SYS_OK(ioctl(s, TIOCOUTQ, &n));
    KT_EQ(n, 0);
    KT_SYS_OK(ioctl(m, FIONREAD, &n));
    KT_EQ(n, 3);
    char buf[16];
    KT_SYS_RET(read(s, buf, sizeof buf), 2);
    KT_SYS_RET(read(m, buf, sizeof buf), 3);
    /* tcflow on the master: TCOOFF stops its writes */
    KT_SYS_OK(tcflow(m, TCOOFF));
    int fl = KT_SYS_OK(fcntl(m, F_GETFL));
    KT_SYS_OK(fcntl(m, F_SETFL, fl | O_NONBLOCK));
    KT_SYS_ERR(write(m, "x", 1), EAGAIN);
    p.events = POLLOUT;
    KT_SYS_RET(poll(&p, 1, 0), 0);
    /* TCIOFF/TCION of a stopped master are lost (its start_tty does not
     * undo TCOOFF); of a running one they send ^S and ^Q to the slave */
    KT_SYS_OK(tcflow(m, TCIOFF));
    KT_SYS_OK(tcflow(m, TCOON));
    KT_SYS_OK(tcflow(m, TCIOFF));
    KT_SYS_OK(tcflow(m, TCION));
    KT_SYS_RET(write(m, "x", 1), 1);
    struct pollfd ps = {.fd = s, .events = POLLIN};
    KT_SYS_RET(poll(&ps, 1, 1000), 1);
    kt_msleep(50);
    KT_SYS_RET(read(s, buf, sizeof buf), 3);
    KT_TRUE(memcmp(buf, "\x13\x11x", 3) == 0, "slave read %02x %02x %02x", buf[0], buf[1], buf[2]);
    KT_SYS_ERR(tcflow(m, 4), EINVAL);
    /* nobody's terminal: no session, no group */
    pid_t sid = 0;
    KT_SYS_ERR(ioctl(m, TIOCGSID, &sid), ENOTTY);
    KT_SYS_ERR(ioctl(s, TIOCGSID, &sid), ENOTTY);
    KT_SYS_OK(ioctl(m, TIOCGPGRP, &sid));
    KT_EQ(sid, 0);
    KT_SYS_ERR(ioctl(m, TIOCNOTTY), ENOTTY);
    close(s);
    close(m);
}

KT_CASE(tiocsctty_on_the_master_makes_the_slave_the_terminal) {
    /* the slave is open (Linux's /dev/tty cannot reopen a slave nobody has
     * open: tty_reopen's EAGAIN loop) */
    int s, m = KT_SYS_OK(pair(&s));
    pid_t c = KT_FORK();
    if (c == 0) {
        KT_SYS_OK(setsid());
        KT_SYS_OK(ioctl(m, TIOCSCTTY, 0));
        /* the slave's session and group, asked at the master */
        pid_t v = 0;
        KT_SYS_OK(ioctl(m, TIOCGSID, &v));
        KT_EQ(v, getpid());
        KT_SYS_OK(ioctl(m, TIOCGPGRP, &v));
        KT_EQ(v, getpid());
        KT_SYS_OK(ioctl(s, TIOCGSID, &v));
        KT_EQ(v, getpid());
        /* the master is not the controlling terminal itself */
        KT_SYS_ERR(ioctl(m, TIOCNOTTY), ENOTTY);
        /* /dev/tty is the slave (the file is /dev/tty's, 5,0) */
        int t = KT_SYS_OK(open("/dev/tty", O_RDWR));
        struct stat st;
        KT_SYS_OK(fstat(t, &st));
        KT_EQ(major(st.st_rdev), 5u);
        KT_EQ(minor(st.st_rdev), 0u);
        KT_SYS_RET(write(t, "via\n", 4), 4);
        /* TIOCSPGRP through the master */
        pid_t g = KT_FORK();
        if (g == 0) {
            setpgid(0, 0);
            pause();
            _exit(0);
        }
        setpgid(g, g);
        KT_SYS_OK(tcsetpgrp(m, g));
        KT_EQ(tcgetpgrp(t), g);
        kill(g, SIGKILL);
        waitpid(g, 0, 0);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    char buf[32];
    drain(m, buf, sizeof buf);
    KT_TRUE(strcmp(buf, "via\r\n") == 0, "from /dev/tty: %s", buf);
    close(s);
    close(m);
}

KT_CASE(tiocsti_pushes_input_into_either_side) {
    int s, m = KT_SYS_OK(pair(&s));
    /* the slave: typed input (canonical, echoed) */
    const char *line = "hi\n";
    for (const char *c = line; *c; c++) KT_SYS_OK(ioctl(s, TIOCSTI, c));
    char buf[64];
    KT_SYS_RET(read(s, buf, sizeof buf), 3);
    KT_TRUE(memcmp(buf, "hi\n", 3) == 0, "slave read %.3s", buf);
    drain(m, buf, sizeof buf);
    KT_TRUE(strcmp(buf, "hi\r\n") == 0, "echo %s", buf);
    /* the master: what it reads next, raw */
    KT_SYS_OK(ioctl(m, TIOCSTI, "q"));
    KT_SYS_RET(read(m, buf, sizeof buf), 1);
    KT_EQ(buf[0], 'q');
    KT_SYS_ERR(ioctl(s, TIOCSTI, (char *)0), EFAULT);
    /* without CAP_SYS_ADMIN: only on the caller's controlling terminal */
    pid_t c = KT_FORK();
    if (c == 0) {
        KT_SYS_OK(setsid());
        KT_SYS_OK(setuid(65534));
        KT_SYS_ERR(ioctl(s, TIOCSTI, "a"), EPERM);
        KT_SYS_ERR(ioctl(m, TIOCSTI, "a"), EPERM);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    c = KT_FORK();
    if (c == 0) {
        KT_SYS_OK(setsid());
        KT_SYS_OK(ioctl(s, TIOCSCTTY, 0));
        KT_SYS_OK(setuid(65534));
        KT_SYS_OK(ioctl(s, TIOCSTI, "b"));
        KT_SYS_ERR(ioctl(m, TIOCSTI, "b"), EPERM);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    struct termios t;
    KT_SYS_OK(tcgetattr(s, &t));
    cfmakeraw(&t);
    KT_SYS_OK(tcsetattr(s, TCSANOW, &t));
    KT_SYS_RET(read(s, buf, sizeof buf), 1);
    KT_EQ(buf[0], 'b');
    close(s);
    close(m);
}

static int slurp_num(const char *path) {
    char b[32] = "";
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    int n = (int)read(fd, b, sizeof b - 1);
    close(fd);
    return n > 0 ? atoi(b) : -1;
}

static int write_str(const char *path, const char *v) {
    int fd = open(path, O_WRONLY);
    if (fd < 0) return -1;
    int r = (int)write(fd, v, strlen(v));
    close(fd);
    return r;
}

KT_CASE(proc_sys_kernel_pty_max_and_nr) {
    KT_EQ(slurp_num("/proc/sys/kernel/pty/max"), 4096);
    KT_EQ(slurp_num("/proc/sys/kernel/pty/reserve"), 1024);
    struct stat st;
    KT_SYS_OK(stat("/proc/sys/kernel/pty/nr", &st));
    KT_EQ(st.st_mode & 07777, 0444u);
    KT_SYS_OK(stat("/proc/sys/kernel/pty/max", &st));
    KT_EQ(st.st_mode & 07777, 0644u);
    KT_SYS_OK(stat("/proc/sys/kernel/pty", &st));
    KT_TRUE(S_ISDIR(st.st_mode), "mode %o", st.st_mode);
    int nr = slurp_num("/proc/sys/kernel/pty/nr");
    KT_TRUE(nr >= 0, "nr %d", nr);
    int m1 = KT_SYS_OK(open_master());
    KT_EQ(slurp_num("/proc/sys/kernel/pty/nr"), nr + 1);
    close(m1);
    KT_EQ(slurp_num("/proc/sys/kernel/pty/nr"), nr);
    /* max: the pairs stay below it (the new one is counted first) */
    char v[32];
    snprintf(v, sizeof v, "%d\n", nr + 3);
    KT_EQ(write_str("/proc/sys/kernel/pty/max", v), (int)strlen(v));
    int ms[4], k = 0;
    for (; k < 4; k++) {
        /* open(2) itself: musl's posix_openpt turns ENOSPC into EAGAIN */
        ms[k] = open("/dev/ptmx", O_RDWR | O_NOCTTY);
        if (ms[k] < 0) break;
    }
    int e = errno;
    for (int i = 0; i < k; i++) close(ms[i]);
    KT_EQ(write_str("/proc/sys/kernel/pty/max", "4096"), 4);
    KT_EQ(k, 2);
    KT_EQ(e, ENOSPC);
    KT_EQ(write_str("/proc/sys/kernel/pty/max", "-1"), -1);
    KT_EQ(errno, EINVAL);
    KT_EQ(slurp_num("/proc/sys/kernel/pty/max"), 4096);
    int again = KT_SYS_OK(open_master());
    close(again);
}

KT_MAIN()
