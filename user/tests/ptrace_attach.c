/* ptrace(2) of running processes: ATTACH, SEIZE, INTERRUPT, LISTEN,
 * DETACH; a tracer that is not the parent (the second parent of wait); a
 * tracer that exits (detach, EXITKILL); the permission rules
 * (ptrace_may_access, YAMA scope 1, PR_SET_PTRACER, PR_SET_DUMPABLE);
 * process_vm_readv/process_vm_writev. */
#include "kt_ptrace.h"
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>

#ifndef PR_SET_PTRACER
#define PR_SET_PTRACER 0x59616d61
#endif
#define PTRACER_ANY ((unsigned long)-1)

static volatile int got_usr1;
static void on_usr1(int s) {
    (void)s;
    _exit(6);
}

/* A child that waits for SIGUSR1 (then exits 6). */
static pid_t start_sleeper(void) {
    int p[2];
    if (pipe(p) != 0) return -1;
    pid_t c = fork();
    if (c == 0) {
        signal(SIGUSR1, on_usr1);
        close(p[0]);
        write(p[1], "x", 1);
        for (;;) pause();
    }
    close(p[1]);
    char b;
    read(p[0], &b, 1);
    close(p[0]);
    return c;
}

KT_CASE(attach_stops_with_sigstop_then_detach_runs) {
    pid_t c = start_sleeper();
    KT_SYS_RET(ptrace(PTRACE_ATTACH, c, 0, 0), 0);
    int st;
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_STATUS(st, kt_stopped(SIGSTOP));
    KT_SYS_RET(ptrace(PTRACE_DETACH, c, 0, 0), 0);
    KT_SYS_ERR(ptrace(PTRACE_CONT, c, 0, 0), ESRCH);
    /* still running and untraced: SIGUSR1 reaches its handler */
    KT_SYS_RET(waitpid(c, &st, WNOHANG), 0);
    KT_SYS_RET(kill(c, SIGUSR1), 0);
    KT_WAIT_STATUS(c, kt_exited(6));
}

KT_CASE(attach_twice_eperm) {
    pid_t c = start_sleeper();
    int st;
    KT_SYS_RET(ptrace(PTRACE_ATTACH, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    errno = 0;
    long r = ptrace(PTRACE_ATTACH, c, 0, 0);
    int e = errno;
    long r2 = ptrace(PTRACE_SEIZE, c, 0, 0);
    int e2 = errno;
    kt_kill_reap(c);
    KT_EQ(r, -1);
    KT_EQ(e, EPERM);
    KT_EQ(r2, -1);
    KT_EQ(e2, EPERM);
}

KT_CASE(attach_then_suppress_sigstop_keeps_running) {
    pid_t c = start_sleeper();
    int st;
    KT_SYS_RET(ptrace(PTRACE_ATTACH, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, WNOHANG), 0);
    /* a signal to a tracee stops it for the tracer first */
    KT_SYS_RET(kill(c, SIGUSR1), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_STATUS(st, kt_stopped(SIGUSR1));
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, SIGUSR1), 0);
    KT_WAIT_STATUS(c, kt_exited(6));
}

KT_CASE(seize_does_not_stop) {
    pid_t c = start_sleeper();
    KT_SYS_RET(ptrace(PTRACE_SEIZE, c, 0, 0), 0);
    int st;
    kt_msleep(20);
    long r = waitpid(c, &st, WNOHANG);
    /* requests need a stop */
    errno = 0;
    long g = ptrace(PTRACE_GETEVENTMSG, c, 0, &st);
    int e = errno;
    kt_kill_reap(c);
    KT_EQ(r, 0);
    KT_EQ(g, -1);
    KT_EQ(e, ESRCH);
}

KT_CASE(seize_argument_errors_eio) {
    pid_t c = start_sleeper();
    errno = 0;
    long r1 = ptrace(PTRACE_SEIZE, c, (void *)1, 0);
    int e1 = errno;
    long r2 = ptrace(PTRACE_SEIZE, c, 0, (void *)0x400);
    int e2 = errno;
    kt_kill_reap(c);
    KT_EQ(r1, -1);
    KT_EQ(e1, EIO);
    KT_EQ(r2, -1);
    KT_EQ(e2, EIO);
}

KT_CASE(interrupt_gives_event_stop) {
    pid_t c = start_sleeper();
    KT_SYS_RET(ptrace(PTRACE_SEIZE, c, 0, 0), 0);
    KT_SYS_RET(ptrace(PTRACE_INTERRUPT, c, 0, 0), 0);
    int st;
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_EQ(st >> 8, SIGTRAP | (PTRACE_EVENT_STOP << 8));
    siginfo_t si;
    KT_SYS_RET(ptrace(PTRACE_GETSIGINFO, c, 0, &si), 0);
    KT_EQ(si.si_signo, SIGTRAP);
    KT_EQ(si.si_code, SIGTRAP | (PTRACE_EVENT_STOP << 8));
    /* it sleeps in pause() again after the trap */
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, WNOHANG), 0);
    KT_SYS_RET(kill(c, SIGUSR1), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_EQ(st >> 8, SIGUSR1);
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, SIGUSR1), 0);
    KT_WAIT_STATUS(c, kt_exited(6));
}

KT_CASE(interrupt_needs_seize_eio) {
    pid_t c = start_sleeper();
    int st;
    KT_SYS_RET(ptrace(PTRACE_ATTACH, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    errno = 0;
    long r = ptrace(PTRACE_INTERRUPT, c, 0, 0);
    int e = errno;
    long r2 = ptrace(PTRACE_LISTEN, c, 0, 0);
    int e2 = errno;
    kt_kill_reap(c);
    KT_EQ(r, -1);
    KT_EQ(e, EIO);
    KT_EQ(r2, -1);
    KT_EQ(e2, EIO);
}

KT_CASE(listen_keeps_it_stopped) {
    pid_t c = start_sleeper();
    int st;
    KT_SYS_RET(ptrace(PTRACE_SEIZE, c, 0, 0), 0);
    KT_SYS_RET(ptrace(PTRACE_INTERRUPT, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_SYS_RET(ptrace(PTRACE_LISTEN, c, 0, 0), 0);
    /* not in a trace stop any more: requests fail; no new report */
    KT_SYS_ERR(ptrace(PTRACE_CONT, c, 0, 0), ESRCH);
    KT_SYS_RET(waitpid(c, &st, WNOHANG), 0);
    /* INTERRUPT traps it again */
    KT_SYS_RET(ptrace(PTRACE_INTERRUPT, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_EQ(st >> 8, SIGTRAP | (PTRACE_EVENT_STOP << 8));
    kt_kill_reap(c);
}

/* SEIZE's options apply at once: TRACESYSGOOD marks the syscall stops.
 * The SIGUSR1 is sent while the tracee sits in the INTERRUPT stop, so the
 * order of the stops is Linux's and not the scheduler's: resumed, the
 * tracee dequeues the pending signal (signal-delivery stop) before it
 * returns to user mode to restart pause(). (Sent after PTRACE_SYSCALL, a
 * tracee on another CPU may restart pause() first: an entry stop 0x85,
 * the case below.) */
KT_CASE(seize_options_apply) {
    pid_t c = start_sleeper();
    KT_SYS_RET(ptrace(PTRACE_SEIZE, c, 0, PTRACE_O_TRACESYSGOOD), 0);
    KT_SYS_RET(ptrace(PTRACE_INTERRUPT, c, 0, 0), 0);
    int st;
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_EQ(st >> 8, SIGTRAP | (PTRACE_EVENT_STOP << 8));
    KT_SYS_RET(kill(c, SIGUSR1), 0);
    /* stopped: the signal waits, no second stop is reported */
    KT_SYS_RET(waitpid(c, &st, WNOHANG), 0);
    KT_SYS_RET(ptrace(PTRACE_SYSCALL, c, 0, 0), 0);
    /* first the signal stop */
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_STATUS(st, kt_stopped(SIGUSR1));
    KT_SYS_RET(ptrace(PTRACE_SYSCALL, c, 0, SIGUSR1), 0);
    /* pause() ends with EINTR, the handler calls _exit: an entry stop with 0x80 */
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_EQ(st >> 8, SIGTRAP | 0x80);
    KT_EQ(ptrace(PTRACE_PEEKUSER, c, (void *)(15 * 8), 0), SYS_exit_group);
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_WAIT_STATUS(c, kt_exited(6));
}

/* pause() interrupted by PTRACE_INTERRUPT restarts (ERESTARTNOHAND, no
 * handler ran): with PTRACE_SYSCALL the restart is a syscall-entry stop
 * of pause itself; a signal sent after PTRACE_CONT still stops the
 * tracee (every signal but SIGKILL does) wherever it is by then. */
KT_CASE(seize_interrupted_pause_restarts_with_entry_stop) {
    pid_t c = start_sleeper();
    KT_SYS_RET(ptrace(PTRACE_SEIZE, c, 0, PTRACE_O_TRACESYSGOOD), 0);
    KT_SYS_RET(ptrace(PTRACE_INTERRUPT, c, 0, 0), 0);
    int st;
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_EQ(st >> 8, SIGTRAP | (PTRACE_EVENT_STOP << 8));
    KT_SYS_RET(ptrace(PTRACE_SYSCALL, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_EQ(st >> 8, SIGTRAP | 0x80);
    KT_EQ(ptrace(PTRACE_PEEKUSER, c, (void *)(15 * 8), 0), SYS_pause);
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_SYS_RET(kill(c, SIGUSR1), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_STATUS(st, kt_stopped(SIGUSR1));
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, SIGUSR1), 0);
    KT_WAIT_STATUS(c, kt_exited(6));
}

/* A tracer in a child of ours, tracing another child of ours. */
KT_CASE(tracer_not_parent_sees_exit_first) {
    pid_t a = start_sleeper();
    int p[2];
    KT_SYS_OK(pipe(p));
    pid_t t = KT_FORK();
    if (t == 0) {
        int st;
        if (ptrace(PTRACE_ATTACH, a, 0, 0) != 0) _exit(1);
        if (waitpid(a, &st, 0) != a || st != kt_stopped(SIGSTOP)) _exit(2);
        if (ptrace(PTRACE_CONT, a, 0, 0) != 0) _exit(3);
        write(p[1], "x", 1);
        /* the SIGUSR1 our parent sends */
        if (waitpid(a, &st, 0) != a || st != kt_stopped(SIGUSR1)) _exit(4);
        if (ptrace(PTRACE_CONT, a, 0, SIGUSR1) != 0) _exit(5);
        if (waitpid(a, &st, 0) != a || st != kt_exited(6)) _exit(6);
        /* not our child: reaping it leaves nothing */
        if (waitpid(-1, &st, WNOHANG) != -1 || errno != ECHILD) _exit(7);
        _exit(0);
    }
    close(p[1]);
    char b;
    KT_SYS_RET(read(p[0], &b, 1), 1);
    close(p[0]);
    int st;
    /* traced by another: its stops are not ours */
    KT_SYS_RET(kill(a, SIGUSR1), 0);
    KT_WAIT_STATUS(t, kt_exited(0));
    KT_WAIT_STATUS(a, kt_exited(6));
    (void)st;
}

KT_CASE(tracer_exit_detaches_a_running_tracee) {
    pid_t a = start_sleeper();
    pid_t t = KT_FORK();
    if (t == 0) {
        int st;
        if (ptrace(PTRACE_ATTACH, a, 0, 0) != 0) _exit(1);
        if (waitpid(a, &st, 0) != a) _exit(2);
        if (ptrace(PTRACE_CONT, a, 0, 0) != 0) _exit(3);
        _exit(0);
    }
    KT_WAIT_STATUS(t, kt_exited(0));
    /* untraced again: the signal reaches the handler */
    KT_SYS_RET(kill(a, SIGUSR1), 0);
    KT_WAIT_STATUS(a, kt_exited(6));
}

KT_CASE(tracer_exit_with_exitkill_kills) {
    pid_t a = start_sleeper();
    pid_t t = KT_FORK();
    if (t == 0) {
        if (ptrace(PTRACE_SEIZE, a, 0, PTRACE_O_EXITKILL) != 0) _exit(1);
        _exit(0);
    }
    KT_WAIT_STATUS(t, kt_exited(0));
    KT_WAIT_STATUS(a, kt_killed(SIGKILL));
}

/* TracerPid of /proc/<pid>/status. */
static int tracer_pid(pid_t p) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/status", (int)p);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    int n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    char *t = strstr(buf, "TracerPid:");
    return t ? atoi(t + 10) : -1;
}

KT_CASE(tracer_pid_in_proc_status_until_the_tracer_exits) {
    pid_t a = start_sleeper();
    KT_EQ(tracer_pid(a), 0);
    int p[2], q[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_OK(pipe(q));
    pid_t t = KT_FORK();
    if (t == 0) {
        char b;
        if (ptrace(PTRACE_SEIZE, a, 0, 0) != 0) _exit(1);
        write(p[1], "x", 1);
        read(q[0], &b, 1);
        _exit(0);
    }
    char b;
    KT_SYS_RET(read(p[0], &b, 1), 1);
    int during = tracer_pid(a);
    KT_SYS_RET(write(q[1], "x", 1), 1);
    KT_WAIT_STATUS(t, kt_exited(0));
    int after = tracer_pid(a);
    KT_SYS_RET(kill(a, SIGUSR1), 0);
    KT_WAIT_STATUS(a, kt_exited(6));
    KT_EQ(during, t);
    KT_EQ(after, 0);
}

/* ---- permissions ---- */

KT_CASE(unprivileged_attach_to_root_or_init_eperm) {
    pid_t me = getpid();
    pid_t c = KT_FORK();
    if (c == 0) {
        if (setgid(1000) != 0 || setuid(1000) != 0) _exit(1);
        errno = 0;
        if (ptrace(PTRACE_ATTACH, me, 0, 0) != -1 || errno != EPERM) _exit(2);
        errno = 0;
        if (ptrace(PTRACE_ATTACH, 1, 0, 0) != -1 || errno != EPERM) _exit(3);
        errno = 0;
        if (ptrace(PTRACE_SEIZE, 1, 0, 0) != -1 || errno != EPERM) _exit(4);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

KT_CASE(unprivileged_attach_to_own_child_allowed) {
    pid_t c = KT_FORK();
    if (c == 0) {
        if (setgid(1000) != 0 || setuid(1000) != 0) _exit(1);
        /* a change of ids made us non-dumpable; our children inherit it */
        if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) _exit(4);
        prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
        pid_t a = start_sleeper();
        int st;
        if (ptrace(PTRACE_ATTACH, a, 0, 0) != 0) _exit(2);
        if (waitpid(a, &st, 0) != a || st != kt_stopped(SIGSTOP)) _exit(3);
        kill(a, SIGKILL);
        waitpid(a, &st, 0);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

KT_CASE(unprivileged_attach_non_dumpable_eperm) {
    pid_t c = KT_FORK();
    if (c == 0) {
        if (setgid(1000) != 0 || setuid(1000) != 0) _exit(1);
        prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
        int p[2], q[2];
        if (pipe(p) || pipe(q)) _exit(2);
        pid_t a = fork();
        if (a == 0) {
            char b;
            prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
            write(p[1], "x", 1);
            read(q[0], &b, 1);
            prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
            write(p[1], "y", 1);
            for (;;) pause();
        }
        char b;
        int st;
        read(p[0], &b, 1);
        errno = 0;
        int r = ptrace(PTRACE_ATTACH, a, 0, 0) == -1 && errno == EPERM;
        write(q[1], "x", 1);
        read(p[0], &b, 1);
        int r2 = ptrace(PTRACE_ATTACH, a, 0, 0) == 0;
        kill(a, SIGKILL);
        waitpid(a, &st, 0);
        _exit(r && r2 ? 0 : 3);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

/* Debian's kernel starts with kernel.yama.ptrace_scope 0 (a Debian patch)
 * and systemd's sysctl.d or the admin raise it; ours is always scope 1,
 * the upstream default: switch Linux's knob to 1 where it exists. */
static void yama_scope_1(void) {
    int fd = open("/proc/sys/kernel/yama/ptrace_scope", O_WRONLY);
    if (fd >= 0) {
        if (write(fd, "1", 1) != 1) kt_printf("# ptrace_scope: %s\n", kt_errname(errno));
        close(fd);
    }
}

KT_CASE(yama_sibling_needs_pr_set_ptracer) {
    yama_scope_1();
    int p[2], q[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_OK(pipe(q));
    pid_t a = KT_FORK();
    if (a == 0) {
        char b;
        if (setgid(1000) != 0 || setuid(1000) != 0) _exit(1);
        prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
        write(p[1], "x", 1);
        read(q[0], &b, 1);
        if (prctl(PR_SET_PTRACER, PTRACER_ANY, 0, 0, 0) != 0) _exit(2);
        write(p[1], "y", 1);
        for (;;) pause();
    }
    char b;
    KT_SYS_RET(read(p[0], &b, 1), 1);
    pid_t s = KT_FORK();
    if (s == 0) {
        if (setgid(1000) != 0 || setuid(1000) != 0) _exit(1);
        errno = 0;
        if (ptrace(PTRACE_ATTACH, a, 0, 0) != -1 || errno != EPERM) _exit(2);
        write(q[1], "x", 1);
        read(p[0], &b, 1);
        if (ptrace(PTRACE_SEIZE, a, 0, 0) != 0) _exit(3);
        _exit(0);
    }
    int st;
    waitpid(s, &st, 0);
    kt_kill_reap(a);
    KT_STATUS(st, kt_exited(0));
}

KT_CASE(setuid_child_is_not_attachable_by_its_user) {
    pid_t c = KT_FORK();
    if (c == 0) {
        if (setgid(1000) != 0 || setuid(1000) != 0) _exit(1);
        /* still non-dumpable after the id change: its children too */
        pid_t a = start_sleeper();
        int st;
        errno = 0;
        int r = ptrace(PTRACE_ATTACH, a, 0, 0) == -1 && errno == EPERM;
        kill(a, SIGKILL);
        waitpid(a, &st, 0);
        _exit(r ? 0 : 2);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

KT_CASE(pr_set_ptracer_no_such_pid_einval) {
    KT_SYS_ERR(prctl(PR_SET_PTRACER, 0x3ffff0, 0, 0, 0), EINVAL);
    KT_SYS_RET(prctl(PR_SET_PTRACER, 0, 0, 0, 0), 0);
}

/* ---- process_vm_readv / process_vm_writev ---- */

static char remote_buf[64] = "hello from the child";

KT_CASE(process_vm_readv_reads_a_child) {
    pid_t c = KT_FORK();
    if (c == 0) {
        strcpy(remote_buf, "changed in the child");
        for (;;) pause();
    }
    kt_msleep(20);
    char a[8], b[32];
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    struct iovec local[2] = {{a, 7}, {b, 13}};
    struct iovec remote[1] = {{remote_buf, 20}};
    long n = process_vm_readv(c, local, 2, remote, 1, 0);
    kt_kill_reap(c);
    KT_EQ(n, 20);
    KT_EQ(memcmp(a, "changed", 7), 0);
    KT_EQ(memcmp(b, " in the child", 13), 0);
}

KT_CASE(process_vm_writev_writes_a_child) {
    int p[2];
    KT_SYS_OK(pipe(p));
    pid_t c = KT_FORK();
    if (c == 0) {
        char b;
        read(p[0], &b, 1);
        _exit(strcmp(remote_buf, "written") == 0 ? 0 : 1);
    }
    struct iovec local = {"written", 8};
    struct iovec remote = {remote_buf, 8};
    KT_SYS_RET(process_vm_writev(c, &local, 1, &remote, 1, 0), 8);
    KT_SYS_RET(write(p[1], "x", 1), 1);
    KT_WAIT_STATUS(c, kt_exited(0));
}

KT_CASE(process_vm_errors) {
    pid_t c = KT_FORK();
    if (c == 0) {
        for (;;) pause();
    }
    char a[16];
    struct iovec local = {a, 16};
    struct iovec remote = {(void *)8, 16};
    struct iovec good = {remote_buf, 16};
    errno = 0;
    long r1 = process_vm_readv(c, &local, 1, &remote, 1, 0);
    int e1 = errno;
    long r2 = process_vm_readv(c, &local, 1, &good, 1, 1);
    int e2 = errno;
    long r3 = process_vm_readv(0x3ffff0, &local, 1, &good, 1, 0);
    int e3 = errno;
    long r4 = process_vm_readv(c, &local, 1025, &good, 1, 0);
    int e4 = errno;
    struct iovec badlocal = {(void *)8, 16};
    long r5 = process_vm_readv(c, &badlocal, 1, &good, 1, 0);
    int e5 = errno;
    long r6 = process_vm_readv(c, &local, 1, &good, 0, 0);
    kt_kill_reap(c);
    KT_EQ(r1, -1);
    KT_EQ(e1, EFAULT);
    KT_EQ(r2, -1);
    KT_EQ(e2, EINVAL);
    KT_EQ(r3, -1);
    KT_EQ(e3, ESRCH);
    KT_EQ(r4, -1);
    KT_EQ(e4, EINVAL);
    KT_EQ(r5, -1);
    KT_EQ(e5, EFAULT);
    KT_EQ(r6, 0);
}

KT_CASE(process_vm_readv_unprivileged_eperm) {
    pid_t me = getpid();
    pid_t c = KT_FORK();
    if (c == 0) {
        if (setgid(1000) != 0 || setuid(1000) != 0) _exit(1);
        char a[8];
        struct iovec local = {a, 8}, remote = {remote_buf, 8};
        errno = 0;
        if (process_vm_readv(me, &local, 1, &remote, 1, 0) != -1 || errno != EPERM) _exit(2);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

KT_CASE(process_vm_readv_partial_at_a_hole) {
    char *m = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KT_TRUE(m != MAP_FAILED, "mmap");
    memset(m, 'z', 4096);
    KT_SYS_OK(munmap(m + 4096, 4096));
    char a[100];
    struct iovec local = {a, 100};
    struct iovec remote = {m + 4096 - 40, 100};
    KT_SYS_RET(process_vm_readv(getpid(), &local, 1, &remote, 1, 0), 40);
    KT_EQ(a[39], 'z');
    munmap(m, 4096);
}

/* ---- /proc/<pid>/mem ---- */

static volatile unsigned long mem_word = 0x5566778899aabbccUL;

__attribute__((noinline)) static int mem_fn(void) {
    __asm__ volatile("" ::: "memory");
    return 5;
}

KT_CASE(proc_self_mem_reads_and_writes) {
    int fd = KT_SYS_OK(open("/proc/self/mem", O_RDWR));
    unsigned long v = 0;
    KT_SYS_RET(pread(fd, &v, 8, (off_t)(unsigned long)&mem_word), 8);
    KT_EQ(v, 0x5566778899aabbccUL);
    unsigned long n = 42;
    KT_SYS_RET(pwrite(fd, &n, 8, (off_t)(unsigned long)&mem_word), 8);
    KT_EQ(mem_word, 42);
    /* an unmapped address: EIO */
    errno = 0;
    long r = pread(fd, &v, 8, 4096);
    int e = errno;
    close(fd);
    KT_EQ(r, -1);
    KT_EQ(e, EIO);
    struct stat st;
    KT_SYS_OK(stat("/proc/self/mem", &st));
    KT_EQ(st.st_mode & 0777, 0600);
}

KT_CASE(proc_mem_of_a_child_writes_its_text) {
    int p[2];
    KT_SYS_OK(pipe(p));
    pid_t c = KT_FORK();
    if (c == 0) {
        char b;
        read(p[0], &b, 1);
        _exit(mem_fn());
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", (int)c);
    int fd = KT_SYS_OK(open(path, O_RDWR));
    /* "mov $7, %eax; ret" over the function: a private copy of the text */
    unsigned char code[] = {0xb8, 7, 0, 0, 0, 0xc3};
    KT_SYS_RET(pwrite(fd, code, sizeof code, (off_t)(unsigned long)&mem_fn), (long)sizeof code);
    unsigned char back[6];
    KT_SYS_RET(pread(fd, back, 6, (off_t)(unsigned long)&mem_fn), 6);
    close(fd);
    KT_EQ(memcmp(back, code, 6), 0);
    KT_EQ(mem_fn(), 5);
    KT_SYS_RET(write(p[1], "x", 1), 1);
    KT_WAIT_STATUS(c, kt_exited(7));
}

KT_CASE(proc_mem_needs_ptrace_access_eacces) {
    pid_t me = getpid();
    pid_t c = KT_FORK();
    if (c == 0) {
        if (setgid(1000) != 0 || setuid(1000) != 0) _exit(1);
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/mem", (int)me);
        errno = 0;
        if (open(path, O_RDONLY) != -1 || errno != EACCES) _exit(2);
        errno = 0;
        if (open("/proc/1/mem", O_RDONLY) != -1 || errno != EACCES) _exit(3);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

KT_MAIN()
