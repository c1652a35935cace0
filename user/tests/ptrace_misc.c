/* ptrace(2): PTRACE_PEEKSIGINFO (a thread's and its process's queues, in
 * arrival order), PTRACE_GETSIGMASK/SETSIGMASK, the NT_X86_XSTATE regset's
 * answers, the vfork event stop before the vfork child releases its parent
 * (then VFORK_DONE), personality(2) as gdb uses it, and a group stop that
 * stops a thread asleep in a call (signal_wake_up of every thread). */
#include "kt_ptrace.h"
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/uio.h>
#include <sys/user.h>

#ifndef PTRACE_PEEKSIGINFO
#define PTRACE_PEEKSIGINFO 0x4209
#endif
#ifndef PTRACE_GETSIGMASK
#define PTRACE_GETSIGMASK 0x420a
#define PTRACE_SETSIGMASK 0x420b
#endif
#define NT_X86_XSTATE 0x202

struct peek_args {
    unsigned long long off;
    unsigned int flags;
    int nr;
};

static int finish(pid_t c) {
    int st = 0;
    for (int i = 0; i < 50; i++) {
        if (waitpid(c, &st, __WALL) != c) return -1;
        if (!WIFSTOPPED(st)) return st;
        ptrace(PTRACE_CONT, c, 0, 0);
    }
    return -2;
}

static unsigned long bit(int sig) { return 1UL << (sig - 1); }

/* Blocks SIGUSR1, SIGUSR2 and SIGRTMIN, queues SIGUSR2 on the thread,
 * SIGRTMIN twice (values 7, 8) and SIGUSR1 on the process, then stops
 * with SIGSTOP for the tracer. */
static void body_queue(void) {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigaddset(&s, SIGUSR2);
    sigaddset(&s, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &s, 0);
    pid_t me = getpid();
    syscall(SYS_tgkill, me, syscall(SYS_gettid), SIGUSR2);
    union sigval v = {.sival_int = 7};
    sigqueue(me, SIGRTMIN, v);
    v.sival_int = 8;
    sigqueue(me, SIGRTMIN, v);
    kill(me, SIGUSR1);
    kill(me, SIGSTOP);
    _exit(0);
}

static pid_t start_queued(void) {
    pid_t c = kt_start_traced(body_queue);
    if (c < 0) return -1;
    int st;
    ptrace(PTRACE_CONT, c, 0, 0);
    if (waitpid(c, &st, 0) != c || st != kt_stopped(SIGSTOP)) {
        kt_fail("queued stop: 0x%x", st);
        kt_kill_reap(c);
        return -1;
    }
    return c;
}

KT_CASE(peeksiginfo_thread_queue) {
    pid_t c = start_queued();
    if (c < 0) return;
    siginfo_t si[4];
    memset(si, 0, sizeof si);
    struct peek_args a = {0, 0, 4};
    KT_SYS_RET(ptrace(PTRACE_PEEKSIGINFO, c, &a, si), 1);
    KT_EQ(si[0].si_signo, SIGUSR2);
    KT_EQ(si[0].si_code, SI_TKILL);
    KT_EQ(si[0].si_pid, c);
    a.off = 1;
    KT_SYS_RET(ptrace(PTRACE_PEEKSIGINFO, c, &a, si), 0);
    kt_kill_reap(c);
}

KT_CASE(peeksiginfo_shared_queue_in_arrival_order) {
    pid_t c = start_queued();
    if (c < 0) return;
    siginfo_t si[4];
    memset(si, 0, sizeof si);
    struct peek_args a = {0, 1 /* PTRACE_PEEKSIGINFO_SHARED */, 4};
    KT_SYS_RET(ptrace(PTRACE_PEEKSIGINFO, c, &a, si), 3);
    KT_EQ(si[0].si_signo, SIGRTMIN);
    KT_EQ(si[0].si_code, SI_QUEUE);
    KT_EQ(si[0].si_value.sival_int, 7);
    KT_EQ(si[1].si_signo, SIGRTMIN);
    KT_EQ(si[1].si_value.sival_int, 8);
    KT_EQ(si[2].si_signo, SIGUSR1);
    KT_EQ(si[2].si_code, SI_USER);
    KT_EQ(si[2].si_pid, c);
    /* from an offset, a count smaller than what is left */
    memset(si, 0, sizeof si);
    a.off = 1;
    a.nr = 1;
    KT_SYS_RET(ptrace(PTRACE_PEEKSIGINFO, c, &a, si), 1);
    KT_EQ(si[0].si_value.sival_int, 8);
    KT_EQ(si[1].si_signo, 0);
    a.nr = 0;
    KT_SYS_RET(ptrace(PTRACE_PEEKSIGINFO, c, &a, si), 0);
    /* peeking takes nothing: the signals are still pending */
    a.off = 0;
    a.nr = 4;
    KT_SYS_RET(ptrace(PTRACE_PEEKSIGINFO, c, &a, si), 3);
    kt_kill_reap(c);
}

KT_CASE(peeksiginfo_errors) {
    pid_t c = start_queued();
    if (c < 0) return;
    siginfo_t si[4];
    struct peek_args a = {0, 2, 4};
    KT_SYS_ERR(ptrace(PTRACE_PEEKSIGINFO, c, &a, si), EINVAL);
    a.flags = 0;
    a.nr = -1;
    KT_SYS_ERR(ptrace(PTRACE_PEEKSIGINFO, c, &a, si), EINVAL);
    a.nr = 4;
    KT_SYS_ERR(ptrace(PTRACE_PEEKSIGINFO, c, (void *)8, si), EFAULT);
    KT_SYS_ERR(ptrace(PTRACE_PEEKSIGINFO, c, &a, (void *)8), EFAULT);
    /* nothing to copy: no fault */
    a.off = 5;
    KT_SYS_RET(ptrace(PTRACE_PEEKSIGINFO, c, &a, (void *)8), 0);
    kt_kill_reap(c);
}

static void body_mask(void) {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigaddset(&s, SIGHUP);
    sigprocmask(SIG_SETMASK, &s, 0);
    kill(getpid(), SIGSTOP);
    sigset_t now;
    sigprocmask(SIG_SETMASK, 0, &now);
    /* the tracer's mask: SIGUSR2 and SIGTERM only */
    int ok = sigismember(&now, SIGUSR2) && sigismember(&now, SIGTERM) && !sigismember(&now, SIGUSR1) &&
             !sigismember(&now, SIGKILL) && !sigismember(&now, SIGSTOP);
    _exit(ok ? 31 : 32);
}

KT_CASE(getsigmask_and_setsigmask) {
    pid_t c = kt_start_traced(body_mask);
    if (c < 0) return;
    int st;
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_STATUS(st, kt_stopped(SIGSTOP));
    unsigned long m = 0;
    KT_SYS_RET(ptrace(PTRACE_GETSIGMASK, c, 8, &m), 0);
    KT_EQ(m, bit(SIGUSR1) | bit(SIGHUP));
    KT_SYS_ERR(ptrace(PTRACE_GETSIGMASK, c, 4, &m), EINVAL);
    KT_SYS_ERR(ptrace(PTRACE_GETSIGMASK, c, 8, (void *)8), EFAULT);
    unsigned long set = bit(SIGUSR2) | bit(SIGTERM) | bit(SIGKILL) | bit(SIGSTOP);
    KT_SYS_ERR(ptrace(PTRACE_SETSIGMASK, c, 16, &set), EINVAL);
    KT_SYS_ERR(ptrace(PTRACE_SETSIGMASK, c, 8, (void *)8), EFAULT);
    KT_SYS_RET(ptrace(PTRACE_SETSIGMASK, c, 8, &set), 0);
    /* SIGKILL and SIGSTOP cannot be blocked */
    KT_SYS_RET(ptrace(PTRACE_GETSIGMASK, c, 8, &m), 0);
    KT_EQ(m, bit(SIGUSR2) | bit(SIGTERM));
    /* suppress the SIGSTOP: the child goes on with the new mask */
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_STATUS(finish(c), kt_exited(31));
}

KT_CASE(sigmask_requests_need_a_stopped_tracee) {
    unsigned long m;
    KT_SYS_ERR(ptrace(PTRACE_GETSIGMASK, getppid(), 8, &m), ESRCH);
    pid_t c = KT_FORK();
    if (c == 0) {
        for (;;) pause();
    }
    KT_SYS_ERR(ptrace(PTRACE_GETSIGMASK, c, 8, &m), ESRCH);
    struct peek_args a = {0, 0, 1};
    siginfo_t si;
    KT_SYS_ERR(ptrace(PTRACE_PEEKSIGINFO, c, &a, &si), ESRCH);
    kt_kill_reap(c);
}

KT_CASE(xstate_regset_length_and_answer) {
    pid_t c = kt_start_traced(body_mask);
    if (c < 0) return;
    static unsigned char buf[8192];
    struct iovec iov = {buf, 12};
    KT_SYS_ERR(ptrace(PTRACE_GETREGSET, c, NT_X86_XSTATE, &iov), EINVAL);
    KT_SYS_ERR(ptrace(PTRACE_SETREGSET, c, NT_X86_XSTATE, &iov), EINVAL);
    iov.iov_len = sizeof buf;
    long r = ptrace(PTRACE_GETREGSET, c, NT_X86_XSTATE, &iov);
    if (r == 0) {
        /* XSAVE kept: the legacy area is GETFPREGS's image */
        struct user_fpregs_struct fp;
        KT_SYS_RET(ptrace(PTRACE_GETFPREGS, c, 0, &fp), 0);
        KT_TRUE(iov.iov_len >= 576 && iov.iov_len <= sizeof buf, "xstate length %zu", iov.iov_len);
        KT_EQ(memcmp(buf, &fp, 160), 0);
    } else {
        /* no XSAVE: an empty regset, ENODEV (gdb falls back to GETFPREGS) */
        KT_EQ(errno, ENODEV);
        KT_EQ(iov.iov_len, sizeof buf);
    }
    kt_kill_reap(c);
}

static void body_vfork(void) {
    pid_t g = vfork();
    if (g == 0) _exit(4);
    int st;
    if (waitpid(g, &st, 0) != g) _exit(50);
    _exit(WIFEXITED(st) ? WEXITSTATUS(st) + 20 : 51);
}

KT_CASE(vfork_event_before_the_child_releases_the_parent) {
    pid_t c = kt_start_traced(body_vfork);
    if (c < 0) return;
    KT_SYS_RET(ptrace(PTRACE_SETOPTIONS, c, 0, PTRACE_O_TRACEVFORK | PTRACE_O_TRACEVFORKDONE), 0);
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    int st;
    /* the parent's event comes while its child is held in its SIGSTOP:
     * waiting for the parent alone does not hang */
    alarm(20);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_EQ(st >> 8, SIGTRAP | (PTRACE_EVENT_VFORK << 8));
    unsigned long m = 0;
    KT_SYS_RET(ptrace(PTRACE_GETEVENTMSG, c, 0, &m), 0);
    pid_t g = (pid_t)m;
    KT_TRUE(g > 0, "vfork child %d", (int)g);
    KT_SYS_RET(waitpid(g, &st, __WALL), g);
    KT_STATUS(st, kt_stopped(SIGSTOP));
    /* the parent goes on into its wait for the release */
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, WNOHANG), 0);
    KT_SYS_RET(ptrace(PTRACE_CONT, g, 0, 0), 0);
    KT_SYS_RET(waitpid(g, &st, __WALL), g);
    KT_STATUS(st, kt_exited(4));
    /* released: PTRACE_EVENT_VFORK_DONE with the child's pid */
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_EQ(st >> 8, SIGTRAP | (PTRACE_EVENT_VFORK_DONE << 8));
    m = 0;
    KT_SYS_RET(ptrace(PTRACE_GETEVENTMSG, c, 0, &m), 0);
    KT_EQ((pid_t)m, g);
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_STATUS(finish(c), kt_exited(24));
    alarm(0);
}

KT_CASE(personality_reads_sets_and_is_inherited) {
    int old = personality(0xffffffff);
    KT_TRUE(old >= 0, "personality %d", old);
    KT_SYS_RET(personality(old | ADDR_NO_RANDOMIZE), old);
    KT_SYS_RET(personality(0xffffffff), old | ADDR_NO_RANDOMIZE);
    pid_t c = KT_FORK();
    if (c == 0) _exit(personality(0xffffffff) == (old | ADDR_NO_RANDOMIZE) ? 5 : 6);
    KT_WAIT_STATUS(c, kt_exited(5));
    KT_SYS_RET(personality(old), old | ADDR_NO_RANDOMIZE);
    KT_SYS_RET(personality(0xffffffff), old);
}

static int gs_data[2], gs_out[2];

static void *gs_reader(void *arg) {
    (void)arg;
    char b;
    if (read(gs_data[0], &b, 1) == 1) write(gs_out[1], &b, 1);
    return 0;
}

KT_CASE(group_stop_stops_a_thread_asleep_in_read) {
    KT_SYS_RET(pipe(gs_data), 0);
    KT_SYS_RET(pipe(gs_out), 0);
    pid_t c = KT_FORK();
    if (c == 0) {
        pthread_t th;
        pthread_create(&th, 0, gs_reader, 0);
        pthread_join(th, 0);
        _exit(0);
    }
    usleep(200000); /* the reader is asleep in read */
    KT_SYS_RET(kill(c, SIGSTOP), 0);
    int st;
    KT_SYS_RET(waitpid(c, &st, WUNTRACED), c);
    KT_STATUS(st, kt_stopped(SIGSTOP));
    usleep(100000);
    /* the reader stopped too: what is written now stays in the pipe */
    KT_SYS_RET(write(gs_data[1], "g", 1), 1);
    usleep(300000);
    int n = -1;
    KT_SYS_RET(ioctl(gs_data[0], FIONREAD, &n), 0);
    KT_EQ(n, 1);
    fcntl(gs_out[0], F_SETFL, O_NONBLOCK);
    char b = 0;
    KT_SYS_ERR(read(gs_out[0], &b, 1), EAGAIN);
    /* SIGCONT: its read restarts and takes the byte */
    KT_SYS_RET(kill(c, SIGCONT), 0);
    fcntl(gs_out[0], F_SETFL, 0);
    KT_SYS_RET(read(gs_out[0], &b, 1), 1);
    KT_EQ(b, 'g');
    KT_WAIT_STATUS(c, kt_exited(0));
    close(gs_data[0]);
    close(gs_data[1]);
    close(gs_out[0]);
    close(gs_out[1]);
}

KT_MAIN()
