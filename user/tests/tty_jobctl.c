/* The terminal's job control on the serial port (/dev/ttyS0): controlling
 * terminals per session (acquired on open by a session leader, TIOCSCTTY,
 * TIOCNOTTY, /dev/tty), the foreground process group (TIOCGPGRP/TIOCSPGRP
 * and their errnos) and SIGTTIN/SIGTTOU for background groups.
 *
 * Each case runs in a session of its own that owns the terminal, and gives
 * it up with TIOCNOTTY before it ends: a controlling process that exits
 * makes Linux hang the serial port up, which would cut the console off. */
#include "kt.h"
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <termios.h>

#define TTY "/dev/ttyS0"

/* The terminal, opened by the session leader of the running case. */
static int tty_fd = -1;

/* Runs `fn` as the leader of a new session whose controlling terminal is
 * the serial port (acquired by opening it); returns the wait status. */
static int in_session(void (*fn)(void)) {
    pid_t p = fork();
    if (p == 0) {
        if (setsid() != getpid()) _exit(100);
        tty_fd = open(TTY, O_RDWR);
        if (tty_fd < 0) _exit(101);
        fn();
        signal(SIGHUP, SIG_IGN);
        ioctl(tty_fd, TIOCNOTTY);
        _exit(kt_case_failed ? KT_CHILD_FAILED : 0);
    }
    int st = 0;
    while (waitpid(p, &st, 0) == -1 && errno == EINTR) {
    }
    return st;
}

#define SESSION(fn) KT_STATUS(in_session(fn), kt_exited(0))

/* A child in a process group of its own (a background job): it runs `op`
 * and exits with what `op` returns; a SIGALRM ends it if the call blocks. */
static pid_t background(int (*op)(void)) {
    pid_t g = fork();
    if (g == 0) {
        setpgid(0, 0);
        alarm(10);
        _exit(op());
    }
    if (g > 0) setpgid(g, g);
    return g;
}

/* What a background call gives: 200 + its result, or its errno. */
static int result(long r) { return r == -1 ? errno : 200 + (int)r; }

static int op_read(void) {
    char c;
    return result(read(tty_fd, &c, 1));
}
static int op_read_sigttin_ignored(void) {
    signal(SIGTTIN, SIG_IGN);
    return op_read();
}
static int op_read_sigttin_blocked(void) {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGTTIN);
    sigprocmask(SIG_BLOCK, &s, 0);
    return op_read();
}
static int op_write(void) { return result(write(tty_fd, "\n", 1)); }
static int op_tcsetattr(void) {
    struct termios t;
    if (tcgetattr(tty_fd, &t) != 0) return 150;
    return result(tcsetattr(tty_fd, TCSANOW, &t));
}
static int op_tcsetattr_sigttou_ignored(void) {
    signal(SIGTTOU, SIG_IGN);
    return op_tcsetattr();
}
static int op_tcsetpgrp_self(void) { return result(tcsetpgrp(tty_fd, getpgrp())); }
static int op_take_foreground_sigttou_blocked(void) {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGTTOU);
    sigprocmask(SIG_BLOCK, &s, 0);
    return op_tcsetpgrp_self();
}

/* ---- the cases -------------------------------------------------------- */

KT_CASE(dev_tty_without_a_controlling_terminal_is_enxio) {
    KT_SYS_ERR(open("/dev/tty", O_RDWR), ENXIO);
}

KT_CASE(a_terminal_that_is_not_ours_answers_enotty_and_eperm) {
    int fd = KT_SYS_OK(open(TTY, O_RDWR | O_NOCTTY));
    pid_t pg = 0;
    KT_SYS_ERR(ioctl(fd, TIOCGPGRP, &pg), ENOTTY);
    KT_SYS_ERR(ioctl(fd, TIOCGSID, &pg), ENOTTY);
    pg = getpgrp();
    KT_SYS_ERR(ioctl(fd, TIOCSPGRP, &pg), ENOTTY);
    KT_SYS_ERR(ioctl(fd, TIOCNOTTY), ENOTTY);
    /* not a session leader */
    KT_SYS_ERR(ioctl(fd, TIOCSCTTY, 0), EPERM);
    /* termios works on any terminal */
    struct termios t;
    KT_SYS_RET(tcgetattr(fd, &t), 0);
    KT_SYS_RET(tcsetattr(fd, TCSANOW, &t), 0);
    close(fd);
}

static void s_acquire(void) {
    pid_t pg = 0, sid = 0;
    KT_SYS_RET(ioctl(tty_fd, TIOCGPGRP, &pg), 0);
    KT_EQ(pg, getpid());
    KT_SYS_RET(ioctl(tty_fd, TIOCGSID, &sid), 0);
    KT_EQ(sid, getpid());
    KT_EQ(tcgetsid(tty_fd), getpid());
    int t = KT_SYS_OK(open("/dev/tty", O_RDWR));
    KT_EQ(tcgetpgrp(t), getpid());
    close(t);
    /* already ours: TIOCSCTTY is a no-op */
    KT_SYS_RET(ioctl(tty_fd, TIOCSCTTY, 0), 0);
}
KT_CASE(a_session_leader_acquires_the_terminal_by_opening_it) {
    SESSION(s_acquire);
}

static void s_noctty(void) {
    /* O_NOCTTY: the leader of a second session opens without acquiring */
    pid_t p = KT_FORK();
    if (p == 0) {
        setsid();
        int fd = open(TTY, O_RDWR);
        pid_t pg;
        int r = ioctl(fd, TIOCGPGRP, &pg);
        _exit(fd >= 0 && r == -1 && errno == ENOTTY ? 0 : 1);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
}
KT_CASE(the_terminal_of_another_session_is_not_acquired_on_open) {
    SESSION(s_noctty);
}

static void s_steal(void) {
    pid_t p = KT_FORK();
    if (p == 0) {
        setsid();
        int fd = open(TTY, O_RDWR | O_NOCTTY);
        if (fd < 0) _exit(1);
        /* another session has it: EPERM, unless root asks with 1 */
        if (ioctl(fd, TIOCSCTTY, 0) != -1 || errno != EPERM) _exit(2);
        if (ioctl(fd, TIOCSCTTY, 1) != 0) _exit(3);
        pid_t sid = 0;
        if (ioctl(fd, TIOCGSID, &sid) != 0 || sid != getpid()) _exit(4);
        if (tcgetpgrp(fd) != getpid()) _exit(5);
        signal(SIGHUP, SIG_IGN);
        if (ioctl(fd, TIOCNOTTY) != 0) _exit(6);
        _exit(0);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
    /* stolen: no longer this session's terminal */
    pid_t pg;
    KT_SYS_ERR(ioctl(tty_fd, TIOCGPGRP, &pg), ENOTTY);
    KT_SYS_ERR(open("/dev/tty", O_RDWR), ENXIO);
}
KT_CASE(tiocsctty_is_eperm_for_a_taken_terminal_and_root_can_steal_it) {
    SESSION(s_steal);
}

static volatile sig_atomic_t hups, conts;
static void count_hup(int sig) {
    (void)sig;
    hups++;
}
static void count_cont(int sig) {
    (void)sig;
    conts++;
}
static void s_notty(void) {
    signal(SIGHUP, count_hup);
    signal(SIGCONT, count_cont);
    KT_SYS_RET(ioctl(tty_fd, TIOCNOTTY), 0);
    KT_EQ(hups, 1);
    KT_EQ(conts, 1);
    pid_t pg;
    KT_SYS_ERR(ioctl(tty_fd, TIOCGPGRP, &pg), ENOTTY);
    KT_SYS_ERR(open("/dev/tty", O_RDWR), ENXIO);
    KT_SYS_ERR(ioctl(tty_fd, TIOCNOTTY), ENOTTY);
}
KT_CASE(tiocnotty_by_the_leader_sends_sighup_and_sigcont_to_the_foreground) {
    SESSION(s_notty);
}

static void s_setpgrp_errors(void) {
    pid_t pg = 32000;
    KT_SYS_ERR(ioctl(tty_fd, TIOCSPGRP, &pg), ESRCH);
    /* the group of the test program: another session */
    pg = getpgid(getppid());
    KT_SYS_ERR(ioctl(tty_fd, TIOCSPGRP, &pg), EPERM);
    pg = -1;
    KT_SYS_ERR(ioctl(tty_fd, TIOCSPGRP, &pg), EINVAL);
    KT_EQ(tcgetpgrp(tty_fd), getpid());
}
KT_CASE(tiocspgrp_errors_esrch_eperm_einval) {
    SESSION(s_setpgrp_errors);
}

static void s_bg_read(void) {
    pid_t g = KT_SYS_OK(background(op_read));
    int st = 0;
    KT_EQ(waitpid(g, &st, WUNTRACED), g);
    KT_STATUS(st, kt_stopped(SIGTTIN));
    kill(g, SIGKILL);
    KT_WAIT_STATUS(g, kt_killed(SIGKILL));
    /* ignored or blocked: EIO instead */
    g = KT_SYS_OK(background(op_read_sigttin_ignored));
    KT_WAIT_STATUS(g, kt_exited(EIO));
    g = KT_SYS_OK(background(op_read_sigttin_blocked));
    KT_WAIT_STATUS(g, kt_exited(EIO));
}
KT_CASE(a_background_read_stops_with_sigttin_or_fails_with_eio) {
    SESSION(s_bg_read);
}

static void s_orphan(void) {
    int p[2];
    KT_SYS_RET(pipe(p), 0);
    pid_t g = fork();
    if (g == 0) {
        /* a background group of two; its leader exits at once, which
         * orphans the group (the other member's new parent is outside the
         * session) */
        setpgid(0, 0);
        close(p[0]);
        pid_t me = getpid();
        pid_t c = fork();
        if (c == 0) {
            alarm(10);
            while (getppid() == me) usleep(1000);
            char b = (char)op_read();
            write(p[1], &b, 1);
            _exit(0);
        }
        _exit(0);
    }
    setpgid(g, g);
    close(p[1]);
    KT_WAIT_STATUS(g, kt_exited(0));
    char b = 0;
    KT_EQ(read(p[0], &b, 1), 1);
    KT_EQ(b, EIO);
    close(p[0]);
}
KT_CASE(a_read_from_an_orphaned_background_group_is_eio) {
    SESSION(s_orphan);
}

static void s_bg_write(void) {
    /* without TOSTOP a background job may write */
    struct termios t, old;
    KT_SYS_RET(tcgetattr(tty_fd, &old), 0);
    t = old;
    t.c_lflag &= ~(tcflag_t)TOSTOP;
    KT_SYS_RET(tcsetattr(tty_fd, TCSANOW, &t), 0);
    pid_t g = KT_SYS_OK(background(op_write));
    KT_WAIT_STATUS(g, kt_exited(201));
    /* with it the writer gets SIGTTOU */
    t.c_lflag |= TOSTOP;
    KT_SYS_RET(tcsetattr(tty_fd, TCSANOW, &t), 0);
    g = KT_SYS_OK(background(op_write));
    int st = 0;
    KT_EQ(waitpid(g, &st, WUNTRACED), g);
    kill(g, SIGKILL);
    tcsetattr(tty_fd, TCSANOW, &old);
    KT_STATUS(st, kt_stopped(SIGTTOU));
    KT_WAIT_STATUS(g, kt_killed(SIGKILL));
}
KT_CASE(a_background_write_stops_with_sigttou_only_under_tostop) {
    SESSION(s_bg_write);
}

static void s_bg_tcsetattr(void) {
    pid_t g = KT_SYS_OK(background(op_tcsetattr));
    int st = 0;
    KT_EQ(waitpid(g, &st, WUNTRACED), g);
    KT_STATUS(st, kt_stopped(SIGTTOU));
    kill(g, SIGKILL);
    KT_WAIT_STATUS(g, kt_killed(SIGKILL));
    g = KT_SYS_OK(background(op_tcsetattr_sigttou_ignored));
    KT_WAIT_STATUS(g, kt_exited(200));
}
KT_CASE(a_background_tcsetattr_stops_with_sigttou_unless_ignored) {
    SESSION(s_bg_tcsetattr);
}

static void s_take_foreground(void) {
    /* a background job that blocks SIGTTOU may take the terminal (as a
     * shell does), and the old foreground may take it back likewise */
    pid_t g = KT_SYS_OK(background(op_take_foreground_sigttou_blocked));
    KT_WAIT_STATUS(g, kt_exited(200));
    KT_EQ(tcgetpgrp(tty_fd), g);
    signal(SIGTTOU, SIG_IGN);
    KT_SYS_RET(tcsetpgrp(tty_fd, getpgrp()), 0);
    KT_EQ(tcgetpgrp(tty_fd), getpid());
    signal(SIGTTOU, SIG_DFL);
    /* without blocking it, the background caller is stopped */
    g = KT_SYS_OK(background(op_tcsetpgrp_self));
    int st = 0;
    KT_EQ(waitpid(g, &st, WUNTRACED), g);
    KT_STATUS(st, kt_stopped(SIGTTOU));
    kill(g, SIGKILL);
    KT_WAIT_STATUS(g, kt_killed(SIGKILL));
    KT_EQ(tcgetpgrp(tty_fd), getpid());
}
KT_CASE(tcsetpgrp_from_the_background_needs_sigttou_blocked_or_ignored) {
    SESSION(s_take_foreground);
}

KT_MAIN()
