/* pidfds: pidfd_open's flags and errors, the fd's flags, poll readiness
 * before and after the process exits (zombie, then reaped), waitid
 * P_PIDFD (ECHILD for a non-child, EAGAIN on a PIDFD_NONBLOCK fd),
 * pidfd_send_signal with and without a siginfo, pidfd_getfd, and the fd
 * clone(CLONE_PIDFD) makes. */
#include "kt.h"

#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/wait.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x1000
#endif
#define PIDFD_NONBLOCK O_NONBLOCK

static int pidfd_open(pid_t pid, unsigned flags) {
    return (int)syscall(SYS_pidfd_open, pid, flags);
}

static int send_sig(int fd, int sig, siginfo_t *info, unsigned flags) {
    return (int)syscall(SYS_pidfd_send_signal, fd, sig, info, flags);
}

static unsigned revents(int fd, int ms) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n = poll(&p, 1, ms);
    if (n < 0) return 0xdead;
    return (unsigned)p.revents;
}

/* A child that waits for a byte on a pipe, then exits with `code`; *go is
 * the pipe's write end. */
static pid_t held_child(int *go, int code) {
    int p[2];
    if (pipe(p) != 0) return -1;
    pid_t c = fork();
    if (c == 0) {
        char b;
        close(p[1]);
        while (read(p[0], &b, 1) < 0 && errno == EINTR) {
        }
        _exit(code);
    }
    close(p[0]);
    *go = p[1];
    return c;
}

static void *idle_thread(void *arg) {
    *(volatile pid_t *)arg = (pid_t)syscall(SYS_gettid);
    for (;;) pause();
    return 0;
}

KT_CASE(open_flags_and_errors) {
    KT_SYS_ERR(pidfd_open(getpid(), 1), EINVAL);
    KT_SYS_ERR(pidfd_open(getpid(), O_CLOEXEC), EINVAL);
    KT_SYS_ERR(pidfd_open(0, 0), EINVAL);
    KT_SYS_ERR(pidfd_open(-1, 0), EINVAL);
    int fd = KT_SYS_OK(pidfd_open(getpid(), 0));
    KT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
    KT_EQ(fcntl(fd, F_GETFL), O_RDWR);
    char b[8];
    KT_SYS_ERR(read(fd, b, sizeof b), EINVAL);
    KT_EQ(revents(fd, 0), 0);
    char path[64], link[64] = {0};
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    KT_SYS_RET(readlink(path, link, sizeof link - 1), 18);
    KT_EQ(strcmp(link, "anon_inode:[pidfd]"), 0);
    int nb = KT_SYS_OK(pidfd_open(getpid(), PIDFD_NONBLOCK));
    KT_EQ(fcntl(nb, F_GETFL), O_RDWR | O_NONBLOCK);
    close(fd);
    close(nb);
    /* a reaped child's id: no such process */
    pid_t c = KT_FORK();
    if (c == 0) _exit(0);
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_SYS_ERR(pidfd_open(c, 0), ESRCH);
}

/* (in a child: its thread must not take the process's signals later) */
static int non_leader(void) {
    volatile pid_t tid = 0;
    pthread_t th;
    KT_CHILD_CHECK(1, pthread_create(&th, 0, idle_thread, (void *)&tid) == 0);
    while (tid == 0) sched_yield();
    errno = 0;
    KT_CHILD_CHECK(2, pidfd_open(tid, 0) == -1 && errno == EINVAL);
    return 0;
}

KT_CASE(open_non_leader_thread_is_einval) {
    KT_EQ(kt_in_child(non_leader), 0);
}

KT_CASE(poll_before_and_after_exit_then_waitid) {
    int go;
    pid_t c = held_child(&go, 7);
    KT_TRUE(c > 0, "%s", "c > 0");
    int fd = KT_SYS_OK(pidfd_open(c, 0));
    KT_EQ(revents(fd, 0), 0);
    KT_EQ(revents(fd, 50), 0);
    KT_SYS_RET(write(go, "x", 1), 1);
    close(go);
    /* a zombie: readable */
    KT_EQ(revents(fd, -1), POLLIN);
    siginfo_t si = {0};
    KT_SYS_RET(waitid(P_PIDFD, fd, &si, WEXITED | WNOWAIT), 0);
    KT_EQ(si.si_pid, c);
    KT_EQ(si.si_code, CLD_EXITED);
    KT_EQ(si.si_status, 7);
    memset(&si, 0, sizeof si);
    KT_SYS_RET(waitid(P_PIDFD, fd, &si, WEXITED), 0);
    KT_EQ(si.si_signo, SIGCHLD);
    KT_EQ(si.si_pid, c);
    KT_EQ(si.si_status, 7);
    /* reaped: still readable, nothing more to wait for */
    KT_EQ(revents(fd, 0), POLLIN);
    KT_SYS_ERR(waitid(P_PIDFD, fd, &si, WEXITED), ECHILD);
    KT_SYS_ERR(send_sig(fd, 0, 0, 0), ESRCH);
    close(fd);
}

KT_CASE(poll_wakes_blocked_poller) {
    int go;
    pid_t c = held_child(&go, 0);
    KT_TRUE(c > 0, "%s", "c > 0");
    int fd = KT_SYS_OK(pidfd_open(c, 0));
    pid_t k = KT_FORK();
    if (k == 0) {
        kt_msleep(100);
        if (write(go, "x", 1) != 1) _exit(1);
        _exit(0);
    }
    close(go);
    KT_EQ(revents(fd, 10000), POLLIN);
    KT_WAIT_STATUS(k, kt_exited(0));
    KT_WAIT_STATUS(c, kt_exited(0));
    close(fd);
}

KT_CASE(waitid_errors) {
    siginfo_t si;
    KT_SYS_ERR(waitid(P_PIDFD, -1, &si, WEXITED), EINVAL);
    int p[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_ERR(waitid(P_PIDFD, p[0], &si, WEXITED), EBADF);
    KT_SYS_ERR(waitid(P_PIDFD, 1000, &si, WEXITED), EBADF);
    close(p[0]);
    close(p[1]);
    /* init is nobody's child here */
    int fd = KT_SYS_OK(pidfd_open(1, 0));
    KT_SYS_ERR(waitid(P_PIDFD, fd, &si, WEXITED | WNOHANG), ECHILD);
    /* a pidfd of ourselves */
    int me = KT_SYS_OK(pidfd_open(getpid(), 0));
    KT_SYS_ERR(waitid(P_PIDFD, me, &si, WEXITED), ECHILD);
    close(fd);
    close(me);
}

KT_CASE(nonblock_waitid_eagain) {
    int go;
    pid_t c = held_child(&go, 5);
    KT_TRUE(c > 0, "%s", "c > 0");
    int fd = KT_SYS_OK(pidfd_open(c, PIDFD_NONBLOCK));
    siginfo_t si;
    KT_SYS_ERR(waitid(P_PIDFD, fd, &si, WEXITED), EAGAIN);
    /* with WNOHANG: 0 and no child */
    memset(&si, 0xff, sizeof si);
    KT_SYS_RET(waitid(P_PIDFD, fd, &si, WEXITED | WNOHANG), 0);
    KT_EQ(si.si_pid, 0);
    KT_SYS_RET(write(go, "x", 1), 1);
    close(go);
    KT_EQ(revents(fd, -1), POLLIN);
    memset(&si, 0, sizeof si);
    KT_SYS_RET(waitid(P_PIDFD, fd, &si, WEXITED), 0);
    KT_EQ(si.si_pid, c);
    KT_EQ(si.si_status, 5);
    close(fd);
}

KT_CASE(send_signal_kill) {
    int go;
    pid_t c = held_child(&go, 0);
    KT_TRUE(c > 0, "%s", "c > 0");
    int fd = KT_SYS_OK(pidfd_open(c, 0));
    KT_SYS_ERR(send_sig(fd, SIGKILL, 0, 0x100), EINVAL);
    KT_SYS_ERR(send_sig(go, SIGKILL, 0, 0), EBADF);
    KT_SYS_ERR(send_sig(-1, SIGKILL, 0, 0), EBADF);
    KT_SYS_RET(send_sig(fd, 0, 0, 0), 0);
    KT_SYS_RET(send_sig(fd, SIGKILL, 0, 0), 0);
    KT_EQ(revents(fd, -1), POLLIN);
    /* a zombie still takes signals */
    KT_SYS_RET(send_sig(fd, SIGTERM, 0, 0), 0);
    siginfo_t si = {0};
    KT_SYS_RET(waitid(P_PIDFD, fd, &si, WEXITED), 0);
    KT_EQ(si.si_code, CLD_KILLED);
    KT_EQ(si.si_status, SIGKILL);
    KT_SYS_ERR(send_sig(fd, SIGKILL, 0, 0), ESRCH);
    close(go);
    close(fd);
}

KT_CASE(send_signal_with_info) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, 0);
    pid_t c = KT_FORK();
    if (c == 0) {
        siginfo_t got;
        int s = sigwaitinfo(&set, &got);
        _exit(s == SIGUSR1 && got.si_code == SI_QUEUE && got.si_value.sival_int == 42 ? 0 : 1);
    }
    int fd = KT_SYS_OK(pidfd_open(c, 0));
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = SIGUSR1;
    si.si_code = SI_USER; /* impersonating kill(2) towards another process */
    KT_SYS_ERR(send_sig(fd, SIGUSR1, &si, 0), EPERM);
    si.si_code = SI_QUEUE;
    si.si_value.sival_int = 42;
    KT_SYS_ERR(send_sig(fd, SIGUSR2, &si, 0), EINVAL); /* si_signo differs */
    KT_SYS_ERR(send_sig(fd, SIGUSR1, (siginfo_t *)8, 0), EFAULT);
    KT_SYS_RET(send_sig(fd, SIGUSR1, &si, 0), 0);
    KT_WAIT_STATUS(c, kt_exited(0));
    /* to ourselves, kill-like codes are allowed */
    int me = KT_SYS_OK(pidfd_open(getpid(), 0));
    si.si_code = SI_USER;
    KT_SYS_RET(send_sig(me, SIGUSR1, &si, 0), 0);
    siginfo_t got;
    struct timespec zero = {0, 0};
    KT_SYS_RET(sigtimedwait(&set, &got, &zero), SIGUSR1);
    KT_EQ(got.si_code, SI_USER);
    sigprocmask(SIG_UNBLOCK, &set, 0);
    close(fd);
    close(me);
}

/* pidfd_send_signal takes a /proc/<pid> directory as a pidfd (CPython's
 * test_signal does), not task/<tid> nor a file of it */
KT_CASE(send_signal_proc_pid_dir) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d", (int)getpid());
    int d = KT_SYS_OK(open(path, O_RDONLY | O_DIRECTORY));
    snprintf(path, sizeof path, "/proc/%d/task/%d", (int)getpid(), (int)getpid());
    int td = KT_SYS_OK(open(path, O_RDONLY | O_DIRECTORY));
    int st = KT_SYS_OK(open("/proc/self/status", O_RDONLY));
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, &old);
    KT_SYS_ERR(send_sig(td, SIGUSR2, 0, 0), EBADF);
    KT_SYS_ERR(send_sig(st, SIGUSR2, 0, 0), EBADF);
    KT_SYS_RET(send_sig(d, SIGUSR2, 0, 0), 0);
    siginfo_t got;
    struct timespec zero = {0, 0};
    KT_SYS_RET(sigtimedwait(&set, &got, &zero), SIGUSR2);
    KT_EQ(got.si_code, SI_USER);
    KT_EQ(got.si_pid, getpid());
    /* waitid and poll want a real pidfd */
    siginfo_t si;
    KT_SYS_ERR(waitid(P_PIDFD, d, &si, WEXITED | WNOHANG), EBADF);
    sigprocmask(SIG_SETMASK, &old, 0);
    close(d);
    close(td);
    close(st);
}

KT_CASE(clone_pidfd) {
    int pidfd = -1;
    long r = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, &pidfd, 0, 0);
    if (r == 0) _exit(3);
    KT_TRUE(r > 0, "%s", "r > 0");
    KT_TRUE(pidfd >= 0, "%s", "pidfd >= 0");
    KT_EQ(fcntl(pidfd, F_GETFD), FD_CLOEXEC);
    KT_EQ(fcntl(pidfd, F_GETFL), O_RDWR);
    KT_EQ(revents(pidfd, -1), POLLIN);
    siginfo_t si = {0};
    KT_SYS_RET(waitid(P_PIDFD, pidfd, &si, WEXITED), 0);
    KT_EQ(si.si_pid, r);
    KT_EQ(si.si_status, 3);
    close(pidfd);
}

KT_CASE(clone3_pidfd_and_epoll) {
    int pidfd = -1;
    struct kt_clone_args a;
    memset(&a, 0, sizeof a);
    a.flags = CLONE_PIDFD;
    a.pidfd = (uint64_t)(uintptr_t)&pidfd;
    a.exit_signal = SIGCHLD;
    int go[2];
    KT_SYS_OK(pipe(go));
    long r = syscall(SYS_clone3, &a, KT_CLONE_ARGS_SIZE_VER0);
    if (r == 0) {
        char b;
        close(go[1]);
        while (read(go[0], &b, 1) < 0 && errno == EINTR) {
        }
        _exit(9);
    }
    close(go[0]);
    KT_TRUE(r > 0, "%s", "r > 0");
    KT_EQ(fcntl(pidfd, F_GETFD), FD_CLOEXEC);
    int ep = KT_SYS_OK(epoll_create1(EPOLL_CLOEXEC));
    struct epoll_event e = {.events = EPOLLIN, .data.u64 = 77};
    KT_SYS_OK(epoll_ctl(ep, EPOLL_CTL_ADD, pidfd, &e));
    struct epoll_event got = {0};
    KT_SYS_RET(epoll_wait(ep, &got, 1, 0), 0);
    KT_SYS_RET(write(go[1], "x", 1), 1);
    KT_SYS_RET(epoll_wait(ep, &got, 1, 10000), 1);
    KT_EQ(got.events, EPOLLIN);
    KT_EQ(got.data.u64, 77);
    siginfo_t si = {0};
    KT_SYS_RET(waitid(P_PIDFD, pidfd, &si, WEXITED), 0);
    KT_EQ(si.si_pid, r);
    KT_EQ(si.si_status, 9);
    close(go[1]);
    close(ep);
    close(pidfd);
}

KT_CASE(getfd) {
    int data[2];
    KT_SYS_OK(pipe(data));
    int go;
    pid_t c = held_child(&go, 0);
    KT_TRUE(c > 0, "%s", "c > 0");
    int fd = KT_SYS_OK(pidfd_open(c, 0));
    KT_SYS_ERR(syscall(SYS_pidfd_getfd, fd, data[1], 1), EINVAL);
    KT_SYS_ERR(syscall(SYS_pidfd_getfd, data[0], data[1], 0), EBADF);
    KT_SYS_ERR(syscall(SYS_pidfd_getfd, fd, 1000, 0), EBADF);
    /* the child's copy of the pipe's write end */
    int w = KT_SYS_OK(syscall(SYS_pidfd_getfd, fd, data[1], 0));
    KT_TRUE(w != data[1], "%s", "w != data[1]");
    KT_EQ(fcntl(w, F_GETFD), FD_CLOEXEC);
    close(data[1]);
    KT_SYS_RET(write(w, "ab", 2), 2);
    close(w);
    char b[4];
    KT_SYS_RET(read(data[0], b, sizeof b), 2);
    KT_SYS_RET(write(go, "x", 1), 1);
    close(go);
    /* a zombie: ESRCH already (Linux 6.1) */
    KT_EQ(revents(fd, -1), POLLIN);
    KT_SYS_ERR(syscall(SYS_pidfd_getfd, fd, 0, 0), ESRCH);
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_SYS_ERR(syscall(SYS_pidfd_getfd, fd, 0, 0), ESRCH);
    close(data[0]);
    close(fd);
}

static int getfd_unprivileged(void) {
    int fd = (int)syscall(SYS_pidfd_open, getppid(), 0);
    KT_CHILD_CHECK(1, fd >= 0);
    KT_CHILD_CHECK(2, setuid(65534) == 0);
    errno = 0;
    KT_CHILD_CHECK(3, syscall(SYS_pidfd_getfd, fd, 0, 0) == -1 && errno == EPERM);
    return 0;
}

KT_CASE(getfd_needs_ptrace_permission) {
    if (geteuid() != 0) KT_SKIP("not root");
    KT_EQ(kt_in_child(getfd_unprivileged), 0);
}

KT_MAIN()
