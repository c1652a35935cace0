/* ptrace(2) and job control: ATTACH and SEIZE of a process already in a
 * group stop (the trap for the new tracer, as strace -f's first process
 * gets it), SIGCONT to a seized tracee (PTRACE_EVENT_STOP before the
 * signal-delivery stop), PTRACE_LISTEN woken by SIGCONT, a traced group
 * stop and what the real parent and the tracer see of it, a detach that
 * leaves a stopped group stopped. Status words and siginfo as Linux 6.1
 * reports them. */
#include "kt_ptrace.h"
#include <sys/user.h>

#define EVSTOP(sig) (((sig) | (PTRACE_EVENT_STOP << 8)) << 8 | 0x7f)

/* A child that stops itself with SIGSTOP (kill(2)), then writes one byte
 * to the pipe and sleeps in pause(); the parent waits for the stop.
 * *rfd is the pipe's read end, non-blocking. */
static pid_t start_stopped(int *rfd) {
    int p[2];
    if (pipe(p) != 0) return -1;
    pid_t c = fork();
    if (c == 0) {
        close(p[0]);
        syscall(SYS_kill, syscall(SYS_getpid), SIGSTOP);
        write(p[1], "x", 1);
        for (;;) pause();
    }
    close(p[1]);
    int st = 0;
    if (c < 0 || waitpid(c, &st, WUNTRACED) != c || st != kt_stopped(SIGSTOP)) {
        kt_fail("start_stopped: pid %d status 0x%x", (int)c, st);
        if (c > 0) kt_kill_reap(c);
        close(p[0]);
        return -1;
    }
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    *rfd = p[0];
    return c;
}

/* Whether the child ran past its stop (the byte is there). */
static long ran(int rfd) {
    char b;
    return read(rfd, &b, 1);
}

KT_CASE(seize_of_a_stopped_process_traps_with_its_stop_signal) {
    int rfd;
    pid_t c = start_stopped(&rfd);
    if (c < 0) return;
    KT_SYS_RET(ptrace(PTRACE_SEIZE, c, 0, PTRACE_O_TRACESYSGOOD), 0);
    /* the trap is there when SEIZE returns */
    int st = 0;
    KT_SYS_RET(waitpid(c, &st, WNOHANG), c);
    KT_EQ(st, EVSTOP(SIGSTOP));
    KT_EQ(st, 0x80137f);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    KT_SYS_RET(ptrace(PTRACE_GETSIGINFO, c, 0, &si), 0);
    KT_EQ(si.si_signo, SIGSTOP);
    KT_EQ(si.si_code, SIGSTOP | (PTRACE_EVENT_STOP << 8));
    KT_EQ(si.si_pid, c);
    KT_EQ(si.si_uid, getuid());
    KT_SYS_RET(waitpid(c, &st, WNOHANG), 0);
    kt_kill_reap(c);
    close(rfd);
}

/* strace -f's start: SEIZE, SIGCONT, LISTEN, then PTRACE_SYSCALL. */
KT_CASE(sigcont_then_listen_traps_again_then_sigcont_stop) {
    int rfd;
    pid_t c = start_stopped(&rfd);
    if (c < 0) return;
    KT_SYS_RET(ptrace(PTRACE_SEIZE, c, 0, PTRACE_O_TRACESYSGOOD), 0);
    int st = 0;
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_EQ(st, 0x80137f);
    KT_SYS_RET(kill(c, SIGCONT), 0);
    /* the parent (the tracer too) sees the continue; the trap stays */
    KT_SYS_RET(waitpid(c, &st, WCONTINUED), c);
    KT_EQ(st, 0xffff);
    KT_SYS_RET(waitpid(c, &st, WNOHANG), 0);
    /* LISTEN with SIGCONT's notification pending: a new trap at once,
     * SIGTRAP now that the group runs */
    KT_SYS_RET(ptrace(PTRACE_LISTEN, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_EQ(st, EVSTOP(SIGTRAP));
    siginfo_t si;
    memset(&si, 0, sizeof si);
    KT_SYS_RET(ptrace(PTRACE_GETSIGINFO, c, 0, &si), 0);
    KT_EQ(si.si_signo, SIGTRAP);
    KT_EQ(si.si_code, SIGTRAP | (PTRACE_EVENT_STOP << 8));
    KT_EQ(si.si_pid, c);
    /* then SIGCONT's signal-delivery stop, from us */
    KT_SYS_RET(ptrace(PTRACE_SYSCALL, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_STATUS(st, kt_stopped(SIGCONT));
    memset(&si, 0, sizeof si);
    KT_SYS_RET(ptrace(PTRACE_GETSIGINFO, c, 0, &si), 0);
    KT_EQ(si.si_signo, SIGCONT);
    KT_EQ(si.si_code, SI_USER);
    KT_EQ(si.si_pid, getpid());
    /* then the write(2) after the stop: entry and exit */
    KT_SYS_RET(ptrace(PTRACE_SYSCALL, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_STATUS(st, kt_stopped(SIGTRAP | 0x80));
    KT_EQ(ptrace(PTRACE_PEEKUSER, c, (void *)(15 * 8), 0), SYS_write);
    KT_SYS_RET(ptrace(PTRACE_SYSCALL, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_STATUS(st, kt_stopped(SIGTRAP | 0x80));
    KT_EQ(ptrace(PTRACE_PEEKUSER, c, (void *)(10 * 8), 0), 1);
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_EQ(ran(rfd), 1);
    kt_kill_reap(c);
    close(rfd);
}

/* The same without LISTEN: SIGCONT during the trap is a new trap after
 * the resume, then the SIGCONT stop. */
KT_CASE(sigcont_during_the_trap_traps_after_resume) {
    int rfd;
    pid_t c = start_stopped(&rfd);
    if (c < 0) return;
    KT_SYS_RET(ptrace(PTRACE_SEIZE, c, 0, 0), 0);
    int st = 0;
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_EQ(st, 0x80137f);
    KT_SYS_RET(kill(c, SIGCONT), 0);
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_EQ(st, 0x80057f);
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_EQ(st, 0x127f);
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    kt_msleep(20);
    KT_EQ(ran(rfd), 1);
    KT_SYS_RET(waitpid(c, &st, WNOHANG), 0);
    kt_kill_reap(c);
    close(rfd);
}

/* Resumed from the trap, the tracee runs although its group is stopped;
 * a later SIGCONT traps it (0x80057f), then its signal-delivery stop. */
KT_CASE(seized_stopped_process_runs_after_cont) {
    int rfd;
    pid_t c = start_stopped(&rfd);
    if (c < 0) return;
    KT_SYS_RET(ptrace(PTRACE_SEIZE, c, 0, 0), 0);
    int st = 0;
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_EQ(st, 0x80137f);
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    kt_msleep(30);
    KT_SYS_RET(waitpid(c, &st, WNOHANG), 0);
    KT_EQ(ran(rfd), 1);
    KT_SYS_RET(kill(c, SIGCONT), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_EQ(st, 0x80057f);
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_EQ(st, 0x127f);
    /* back in pause() */
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    kt_msleep(20);
    KT_SYS_RET(waitpid(c, &st, WNOHANG), 0);
    kt_kill_reap(c);
    close(rfd);
}

/* ATTACH of a stopped process: a plain stop without siginfo, then the
 * SIGSTOP ATTACH sent (SI_KERNEL), then it runs. */
KT_CASE(attach_of_a_stopped_process_traps_then_sigstop) {
    int rfd;
    pid_t c = start_stopped(&rfd);
    if (c < 0) return;
    KT_SYS_RET(ptrace(PTRACE_ATTACH, c, 0, 0), 0);
    int st = 0;
    KT_SYS_RET(waitpid(c, &st, WNOHANG), c);
    KT_STATUS(st, kt_stopped(SIGSTOP));
    siginfo_t si;
    KT_SYS_ERR(ptrace(PTRACE_GETSIGINFO, c, 0, &si), EINVAL);
    /* not a PTRACE_EVENT_STOP trap of a seized tracee */
    KT_SYS_ERR(ptrace(PTRACE_LISTEN, c, 0, 0), EIO);
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_STATUS(st, kt_stopped(SIGSTOP));
    memset(&si, 0, sizeof si);
    KT_SYS_RET(ptrace(PTRACE_GETSIGINFO, c, 0, &si), 0);
    KT_EQ(si.si_signo, SIGSTOP);
    KT_EQ(si.si_code, SI_KERNEL);
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    kt_msleep(20);
    KT_SYS_RET(waitpid(c, &st, WNOHANG), 0);
    KT_EQ(ran(rfd), 1);
    /* SIGCONT to an attached (not seized) tracee: only its delivery stop */
    KT_SYS_RET(kill(c, SIGCONT), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_STATUS(st, kt_stopped(SIGCONT));
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    kt_kill_reap(c);
    close(rfd);
}

/* A running seized tracee: SIGCONT traps with PTRACE_EVENT_STOP first. */
KT_CASE(sigcont_to_a_running_seized_tracee) {
    int rfd;
    pid_t c = start_stopped(&rfd);
    if (c < 0) return;
    int st;
    KT_SYS_RET(kill(c, SIGCONT), 0);
    KT_SYS_RET(waitpid(c, &st, WCONTINUED), c);
    KT_EQ(st, 0xffff);
    KT_SYS_RET(ptrace(PTRACE_SEIZE, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, WNOHANG), 0);
    KT_SYS_RET(kill(c, SIGCONT), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_EQ(st, 0x80057f);
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_EQ(st, 0x127f);
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    kt_msleep(20);
    KT_SYS_RET(waitpid(c, &st, WNOHANG), 0);
    kt_kill_reap(c);
    close(rfd);
}

/* strace -f's loop: SEIZE with its options, SIGCONT, then every stop
 * answered as strace does (LISTEN at a group stop, PTRACE_SYSCALL
 * otherwise, a signal passed on). */
KT_CASE(strace_start_sequence) {
    int rfd;
    pid_t c = start_stopped(&rfd);
    if (c < 0) return;
    long opts = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT | PTRACE_O_TRACECLONE |
                PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK;
    KT_SYS_RET(ptrace(PTRACE_SEIZE, c, 0, opts), 0);
    KT_SYS_RET(kill(c, SIGCONT), 0);
    int want[] = {0x80137f, 0x80057f, 0x127f, 0x857f, 0x857f};
    for (unsigned i = 0; i < sizeof want / sizeof want[0]; i++) {
        int st = 0;
        KT_SYS_RET(waitpid(-1, &st, __WALL), c);
        KT_EQ(i * 0x1000000 + st, i * 0x1000000 + want[i]);
        int sig = WSTOPSIG(st);
        if (st >> 16 == PTRACE_EVENT_STOP && sig == SIGSTOP)
            KT_SYS_RET(ptrace(PTRACE_LISTEN, c, 0, 0), 0);
        else
            KT_SYS_RET(ptrace(PTRACE_SYSCALL, c, 0, (st >> 16) == 0 && sig != (SIGTRAP | 0x80) ? sig : 0), 0);
    }
    kt_kill_reap(c);
    close(rfd);
}

/* SIGSTOP passed on by the tracer: the group stops (the real parent,
 * another process, sees it), the seized tracee traps with
 * PTRACE_EVENT_STOP|SIGSTOP; LISTEN keeps it stopped until SIGCONT. */
KT_CASE(traced_group_stop_listen_until_sigcont) {
    int rfd;
    pid_t c = start_stopped(&rfd);
    if (c < 0) return;
    int st;
    KT_SYS_RET(kill(c, SIGCONT), 0);
    KT_SYS_RET(waitpid(c, &st, WCONTINUED), c);
    kt_msleep(20);
    KT_EQ(ran(rfd), 1);
    int p[2];
    KT_SYS_OK(pipe(p));
    pid_t t = KT_FORK();
    if (t == 0) {
        /* the tracer: a sibling of the tracee */
        if (ptrace(PTRACE_SEIZE, c, 0, 0) != 0) _exit(1);
        write(p[1], "s", 1);
        if (waitpid(c, &st, 0) != c || st != kt_stopped(SIGSTOP)) _exit(2);
        if (ptrace(PTRACE_CONT, c, 0, SIGSTOP) != 0) _exit(3);
        if (waitpid(c, &st, 0) != c || st != 0x80137f) _exit(4);
        siginfo_t si;
        if (ptrace(PTRACE_GETSIGINFO, c, 0, &si) != 0 || si.si_signo != SIGSTOP) _exit(5);
        if (ptrace(PTRACE_LISTEN, c, 0, 0) != 0) _exit(6);
        write(p[1], "l", 1);
        /* the parent's SIGCONT: a new trap */
        if (waitpid(c, &st, 0) != c || st != 0x80057f) _exit(7);
        if (ptrace(PTRACE_CONT, c, 0, 0) != 0) _exit(8);
        if (waitpid(c, &st, 0) != c || st != 0x127f) _exit(9);
        if (ptrace(PTRACE_DETACH, c, 0, SIGCONT) != 0) _exit(10);
        _exit(0);
    }
    char b;
    KT_SYS_RET(read(p[0], &b, 1), 1);
    KT_SYS_RET(kill(c, SIGSTOP), 0);
    KT_SYS_RET(read(p[0], &b, 1), 1);
    /* the real parent sees the group stop */
    KT_SYS_RET(waitpid(c, &st, WUNTRACED), c);
    KT_STATUS(st, kt_stopped(SIGSTOP));
    KT_SYS_RET(kill(c, SIGCONT), 0);
    KT_SYS_RET(waitpid(c, &st, WCONTINUED), c);
    KT_EQ(st, 0xffff);
    close(p[0]);
    close(p[1]);
    KT_WAIT_STATUS(t, kt_exited(0));
    /* detached and running: SIGUSR1's default action ends it */
    KT_SYS_RET(kill(c, SIGUSR1), 0);
    KT_WAIT_STATUS(c, kt_killed(SIGUSR1));
    close(rfd);
}

/* A tracer that is the parent sees traps only, not the group stop. */
KT_CASE(tracer_parent_does_not_see_the_group_stop_twice) {
    int rfd;
    pid_t c = start_stopped(&rfd);
    if (c < 0) return;
    int st;
    KT_SYS_RET(ptrace(PTRACE_ATTACH, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_STATUS(st, kt_stopped(SIGSTOP));
    KT_SYS_RET(waitpid(c, &st, WUNTRACED | WNOHANG), 0);
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_STATUS(st, kt_stopped(SIGSTOP));
    /* pass the SIGSTOP on: a group stop, one report */
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, SIGSTOP), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_STATUS(st, kt_stopped(SIGSTOP));
    KT_SYS_RET(waitpid(c, &st, WUNTRACED | WNOHANG), 0);
    kt_kill_reap(c);
    close(rfd);
}

/* Detached while its group is stopped, a tracee stays stopped. */
KT_CASE(detach_leaves_a_stopped_group_stopped) {
    int rfd;
    pid_t c = start_stopped(&rfd);
    if (c < 0) return;
    int st;
    KT_SYS_RET(ptrace(PTRACE_SEIZE, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_EQ(st, 0x80137f);
    KT_SYS_RET(ptrace(PTRACE_DETACH, c, 0, 0), 0);
    kt_msleep(30);
    KT_EQ(ran(rfd), -1);
    KT_SYS_RET(kill(c, SIGCONT), 0);
    KT_SYS_RET(waitpid(c, &st, WCONTINUED), c);
    KT_EQ(st, 0xffff);
    kt_msleep(20);
    KT_EQ(ran(rfd), 1);
    kt_kill_reap(c);
    close(rfd);
}

KT_MAIN()
