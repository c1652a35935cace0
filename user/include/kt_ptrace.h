/*
 * kt_ptrace.h: helpers shared by the ptrace_*.c cases.
 */
#ifndef KT_PTRACE_H
#define KT_PTRACE_H

#include "kt.h"

#include <sys/ptrace.h>

/* Forks a child that asks to be traced and stops itself with SIGSTOP
 * (kill(2), so the stop follows a system call); the parent waits for that
 * stop. Returns the child's pid, or -1 after failing the case. */
static inline pid_t kt_start_traced(void (*body)(void)) {
    pid_t c = fork();
    if (c == 0) {
        if (ptrace(PTRACE_TRACEME, 0, 0, 0) != 0) _exit(100);
        syscall(SYS_kill, syscall(SYS_getpid), SIGSTOP);
        body();
        _exit(0);
    }
    int st = 0;
    if (c < 0 || waitpid(c, &st, 0) != c || st != kt_stopped(SIGSTOP)) {
        kt_fail("start_traced: pid %d status 0x%x", (int)c, st);
        if (c > 0) {
            kill(c, SIGKILL);
            waitpid(c, &st, 0);
        }
        return -1;
    }
    return c;
}

/* Kills a (traced or not) child and reaps it. */
static inline void kt_kill_reap(pid_t c) {
    int st;
    kill(c, SIGKILL);
    while (waitpid(c, &st, __WALL) == -1 && errno == EINTR) {
    }
}

#endif
