/* fcntl's owner commands (F_SETOWN, F_GETOWN, F_SETSIG, F_GETSIG,
 * F_SETOWN_EX, F_GETOWN_EX, F_GETOWNER_UIDS) per open file description, and
 * O_ASYNC (F_SETFL, FIOASYNC): SIGIO or the F_SETSIG signal with si_code,
 * si_band and si_fd to the owner when a pipe or socket becomes readable or
 * writable; sigio_perm's rule; files without fasync (eventfd, regular
 * files) accept the flag and do not keep it. */
#include "kt.h"
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/eventfd.h>
#include <limits.h>
#include <poll.h>

#ifndef F_SETOWN_EX
#define F_SETOWN_EX 15
#define F_GETOWN_EX 16
#endif
#ifndef F_GETOWNER_UIDS
#define F_GETOWNER_UIDS 17
#endif
#ifndef F_OWNER_TID
#define F_OWNER_TID 0
#define F_OWNER_PID 1
#define F_OWNER_PGRP 2
#endif
#ifndef F_SETSIG
#define F_SETSIG 10
#define F_GETSIG 11
#endif

struct owner_ex {
    int type;
    int pid;
};

/* Waits up to `ms` for `sig` (blocked by the caller); the signal number or
 * -1 (errno EAGAIN) when none came. */
static int wait_sig(int sig, siginfo_t *si, int ms) {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    memset(si, 0, sizeof *si);
    return sigtimedwait(&s, si, &ts);
}

static void block(int sig) {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    sigprocmask(SIG_BLOCK, &s, 0);
}

static void unblock_drain(int sig) {
    siginfo_t si;
    while (wait_sig(sig, &si, 0) == sig) {
    }
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    sigprocmask(SIG_UNBLOCK, &s, 0);
}

KT_CASE(fresh_file_has_no_owner) {
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_RET(fcntl(p[0], F_GETOWN), 0);
    KT_SYS_RET(fcntl(p[0], F_GETSIG), 0);
    struct owner_ex ex = {-1, -1};
    KT_SYS_RET(fcntl(p[0], F_GETOWN_EX, &ex), 0);
    KT_EQ(ex.type, F_OWNER_TID);
    KT_EQ(ex.pid, 0);
    close(p[0]);
    close(p[1]);
}

KT_CASE(setown_process_and_group) {
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_RET(fcntl(p[0], F_SETOWN, getpid()), 0);
    KT_SYS_RET(fcntl(p[0], F_GETOWN), getpid());
    struct owner_ex ex = {-1, -1};
    KT_SYS_RET(fcntl(p[0], F_GETOWN_EX, &ex), 0);
    KT_EQ(ex.type, F_OWNER_PID);
    KT_EQ(ex.pid, getpid());
    KT_SYS_RET(fcntl(p[0], F_SETOWN, -getpgrp()), 0);
    KT_SYS_RET(fcntl(p[0], F_GETOWN), -getpgrp());
    KT_SYS_RET(fcntl(p[0], F_GETOWN_EX, &ex), 0);
    KT_EQ(ex.type, F_OWNER_PGRP);
    KT_EQ(ex.pid, getpgrp());
    ex.type = F_OWNER_TID;
    ex.pid = gettid();
    KT_SYS_RET(fcntl(p[0], F_SETOWN_EX, &ex), 0);
    ex.type = -1;
    KT_SYS_RET(fcntl(p[0], F_GETOWN_EX, &ex), 0);
    KT_EQ(ex.type, F_OWNER_TID);
    KT_EQ(ex.pid, gettid());
    KT_SYS_RET(fcntl(p[0], F_SETOWN, 0), 0);
    KT_SYS_RET(fcntl(p[0], F_GETOWN), 0);
    close(p[0]);
    close(p[1]);
}

KT_CASE(setown_errors) {
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_ERR(fcntl(p[0], F_SETOWN, 4000000), ESRCH);
    KT_SYS_ERR(fcntl(p[0], F_SETOWN, -4000000), ESRCH);
    KT_SYS_ERR(fcntl(p[0], F_SETOWN, INT_MIN), EINVAL);
    struct owner_ex ex = {3, getpid()};
    KT_SYS_ERR(fcntl(p[0], F_SETOWN_EX, &ex), EINVAL);
    ex.type = -1;
    KT_SYS_ERR(fcntl(p[0], F_SETOWN_EX, &ex), EINVAL);
    ex.type = F_OWNER_PID;
    ex.pid = 4000000;
    KT_SYS_ERR(fcntl(p[0], F_SETOWN_EX, &ex), ESRCH);
    KT_SYS_ERR(fcntl(p[0], F_SETOWN_EX, (void *)8), EFAULT);
    KT_SYS_ERR(fcntl(p[0], F_GETOWN_EX, (void *)8), EFAULT);
    /* nothing changed */
    KT_SYS_RET(fcntl(p[0], F_GETOWN), 0);
    KT_SYS_ERR(fcntl(-1, F_SETOWN, getpid()), EBADF);
    close(p[0]);
    close(p[1]);
}

KT_CASE(setsig_range) {
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_ERR(fcntl(p[0], F_SETSIG, 65), EINVAL);
    KT_SYS_ERR(fcntl(p[0], F_SETSIG, -1), EINVAL);
    KT_SYS_RET(fcntl(p[0], F_GETSIG), 0);
    KT_SYS_RET(fcntl(p[0], F_SETSIG, 64), 0);
    KT_SYS_RET(fcntl(p[0], F_GETSIG), 64);
    KT_SYS_RET(fcntl(p[0], F_SETSIG, SIGUSR1), 0);
    KT_SYS_RET(fcntl(p[0], F_GETSIG), SIGUSR1);
    /* per description: the other end has its own */
    KT_SYS_RET(fcntl(p[1], F_GETSIG), 0);
    KT_SYS_RET(fcntl(p[0], F_SETSIG, 0), 0);
    KT_SYS_RET(fcntl(p[0], F_GETSIG), 0);
    close(p[0]);
    close(p[1]);
}

KT_CASE(owner_shared_by_dup_and_fork) {
    int p[2];
    KT_SYS_OK(pipe(p));
    int d = KT_SYS_OK(dup(p[0]));
    KT_SYS_RET(fcntl(p[0], F_SETOWN, getpid()), 0);
    KT_SYS_RET(fcntl(p[0], F_SETSIG, SIGUSR2), 0);
    KT_SYS_RET(fcntl(d, F_GETOWN), getpid());
    KT_SYS_RET(fcntl(d, F_GETSIG), SIGUSR2);
    pid_t me = getpid();
    pid_t c = KT_FORK();
    if (c == 0) _exit(fcntl(d, F_GETOWN) == me && fcntl(p[0], F_GETSIG) == SIGUSR2 ? 0 : 1);
    int st;
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_EQ(st, 0);
    close(d);
    close(p[0]);
    close(p[1]);
}

KT_CASE(getowner_uids) {
    int p[2];
    KT_SYS_OK(pipe(p));
    unsigned u[2] = {7, 7};
    KT_SYS_RET(fcntl(p[0], F_GETOWNER_UIDS, u), 0);
    KT_EQ(u[0], 0);
    KT_EQ(u[1], 0);
    KT_SYS_RET(fcntl(p[0], F_SETOWN, getpid()), 0);
    KT_SYS_RET(fcntl(p[0], F_GETOWNER_UIDS, u), 0);
    KT_EQ(u[0], getuid());
    KT_EQ(u[1], geteuid());
    close(p[0]);
    close(p[1]);
}

KT_CASE(pipe_plain_sigio_on_write) {
    int p[2];
    KT_SYS_OK(pipe(p));
    block(SIGIO);
    KT_SYS_RET(fcntl(p[0], F_SETOWN, getpid()), 0);
    KT_SYS_RET(fcntl(p[0], F_SETFL, O_ASYNC | O_NONBLOCK), 0);
    KT_EQ(fcntl(p[0], F_GETFL) & (O_ASYNC | O_NONBLOCK), O_ASYNC | O_NONBLOCK);
    siginfo_t si;
    KT_SYS_ERR(wait_sig(SIGIO, &si, 0), EAGAIN);
    KT_SYS_RET(write(p[1], "x", 1), 1);
    KT_SYS_RET(wait_sig(SIGIO, &si, 1000), SIGIO);
    KT_EQ(si.si_code, SI_KERNEL);
    /* O_ASYNC off: no more */
    KT_SYS_RET(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
    KT_SYS_RET(write(p[1], "x", 1), 1);
    KT_SYS_ERR(wait_sig(SIGIO, &si, 50), EAGAIN);
    unblock_drain(SIGIO);
    close(p[0]);
    close(p[1]);
}

KT_CASE(pipe_setsig_poll_in_and_out) {
    int p[2];
    KT_SYS_OK(pipe(p));
    int rt = SIGRTMIN + 1;
    block(rt);
    KT_SYS_RET(fcntl(p[0], F_SETOWN, getpid()), 0);
    KT_SYS_RET(fcntl(p[0], F_SETSIG, rt), 0);
    KT_SYS_RET(fcntl(p[0], F_SETFL, O_ASYNC), 0);
    KT_SYS_RET(write(p[1], "ab", 2), 2);
    siginfo_t si;
    KT_SYS_RET(wait_sig(rt, &si, 1000), rt);
    KT_EQ(si.si_code, POLL_IN);
    KT_EQ(si.si_band, POLLIN | POLLRDNORM);
    KT_EQ(si.si_fd, p[0]);
    KT_SYS_RET(fcntl(p[0], F_SETFL, 0), 0);
    /* the write end: POLL_OUT when a read makes room */
    int w = KT_SYS_OK(dup(p[1]));
    KT_SYS_RET(fcntl(w, F_SETOWN, getpid()), 0);
    KT_SYS_RET(fcntl(w, F_SETSIG, rt), 0);
    KT_SYS_OK(ioctl(w, FIOASYNC, &(int){1}));
    KT_EQ(fcntl(p[1], F_GETFL) & O_ASYNC, O_ASYNC);
    char b[2];
    KT_SYS_RET(read(p[0], b, 2), 2);
    KT_SYS_RET(wait_sig(rt, &si, 1000), rt);
    KT_EQ(si.si_code, POLL_OUT);
    KT_EQ(si.si_band, POLLOUT | POLLWRNORM | POLLWRBAND);
    KT_EQ(si.si_fd, w);
    KT_SYS_OK(ioctl(w, FIOASYNC, &(int){0}));
    KT_EQ(fcntl(p[1], F_GETFL) & O_ASYNC, 0);
    unblock_drain(rt);
    close(w);
    close(p[0]);
    close(p[1]);
}

KT_CASE(socketpair_sigio_to_group_via_fiosetown) {
    int sv[2];
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    block(SIGIO);
    int who = -getpgrp();
    KT_SYS_OK(ioctl(sv[0], FIOSETOWN, &who));
    int got = 0;
    KT_SYS_OK(ioctl(sv[0], FIOGETOWN, &got));
    KT_EQ(got, -getpgrp());
    KT_SYS_OK(ioctl(sv[0], SIOCGPGRP, &got));
    KT_EQ(got, -getpgrp());
    KT_SYS_RET(fcntl(sv[0], F_GETOWN), -getpgrp());
    who = getpid();
    KT_SYS_OK(ioctl(sv[0], SIOCSPGRP, &who));
    KT_SYS_RET(fcntl(sv[0], F_GETOWN), getpid());
    KT_SYS_OK(ioctl(sv[0], FIOASYNC, &(int){1}));
    KT_SYS_RET(write(sv[1], "x", 1), 1);
    siginfo_t si;
    KT_SYS_RET(wait_sig(SIGIO, &si, 1000), SIGIO);
    unblock_drain(SIGIO);
    close(sv[0]);
    close(sv[1]);
}

KT_CASE(eventfd_and_regular_file_have_no_fasync) {
    int e = KT_SYS_OK(eventfd(0, 0));
    block(SIGIO);
    KT_SYS_RET(fcntl(e, F_SETOWN, getpid()), 0);
    /* accepted, but only a file's fasync sets the flag */
    KT_SYS_RET(fcntl(e, F_SETFL, O_ASYNC), 0);
    KT_EQ(fcntl(e, F_GETFL) & O_ASYNC, 0);
    uint64_t one = 1;
    KT_SYS_RET(write(e, &one, 8), 8);
    siginfo_t si;
    KT_SYS_ERR(wait_sig(SIGIO, &si, 50), EAGAIN);
    /* FIOASYNC needs a fasync operation */
    KT_SYS_ERR(ioctl(e, FIOASYNC, &(int){1}), ENOTTY);
    KT_SYS_RET(ioctl(e, FIOASYNC, &(int){0}), 0);
    close(e);
    int f = KT_SYS_OK(open("/proc/self/status", O_RDONLY));
    KT_SYS_RET(fcntl(f, F_SETFL, O_ASYNC), 0);
    KT_EQ(fcntl(f, F_GETFL) & O_ASYNC, 0);
    KT_SYS_RET(fcntl(f, F_SETOWN, getpid()), 0);
    KT_SYS_RET(fcntl(f, F_GETOWN), getpid());
    close(f);
    unblock_drain(SIGIO);
}

static int perm_child(int rfd, int wfd) {
    /* a process of uid 1000 sets the owner: root may not be signalled */
    if (setresuid(1000, 1000, 1000) != 0) return 2;
    if (fcntl(rfd, F_SETOWN, getppid()) != 0) return 3;
    if (write(wfd, "y", 1) != 1) return 4;
    return 0;
}

KT_CASE(sigio_perm_of_the_setter) {
    if (getuid() != 0) KT_SKIP("needs root");
    int p[2];
    KT_SYS_OK(pipe(p));
    block(SIGIO);
    KT_SYS_RET(fcntl(p[0], F_SETFL, O_ASYNC), 0);
    pid_t c = KT_FORK();
    if (c == 0) _exit(perm_child(p[0], p[1]));
    int st;
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_EQ(st, 0);
    KT_SYS_RET(fcntl(p[0], F_GETOWN), getpid());
    unsigned u[2];
    KT_SYS_RET(fcntl(p[0], F_GETOWNER_UIDS, u), 0);
    KT_EQ(u[0], 1000);
    KT_EQ(u[1], 1000);
    siginfo_t si;
    KT_SYS_ERR(wait_sig(SIGIO, &si, 50), EAGAIN);
    /* set again by root: delivered */
    KT_SYS_RET(fcntl(p[0], F_SETOWN, getpid()), 0);
    KT_SYS_RET(write(p[1], "z", 1), 1);
    KT_SYS_RET(wait_sig(SIGIO, &si, 1000), SIGIO);
    unblock_drain(SIGIO);
    close(p[0]);
    close(p[1]);
}

KT_MAIN()
