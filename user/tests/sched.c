/* Scheduling attributes as Linux answers them: getpriority/setpriority
 * (nice, RLIMIT_NICE, EACCES/EPERM/ESRCH/EINVAL), sched_setscheduler and
 * friends for SCHED_OTHER/BATCH/IDLE/FIFO/RR (RLIMIT_RTPRIO, EPERM),
 * sched_get_priority_min/max, sched_rr_get_interval; and the fair share:
 * two CPU-bound processes on one CPU, nice 0 and nice 10, get CPU time
 * near the weight ratio 1024:110; a move to another CPU at exec counts as
 * an involuntary context switch.
 *
 * musl's sched_setscheduler/getscheduler/setparam/getparam return ENOSYS
 * by design, so those go through syscall(2). */
#include "kt.h"

#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SCHED_BATCH
#define SCHED_BATCH 3
#endif
#ifndef SCHED_IDLE
#define SCHED_IDLE 5
#endif
#define SCHED_DEADLINE 6
#ifndef SCHED_RESET_ON_FORK
#define SCHED_RESET_ON_FORK 0x40000000
#endif

static long setsched(pid_t pid, int policy, int prio) {
    struct sched_param p = {.sched_priority = prio};
    return syscall(SYS_sched_setscheduler, pid, policy, &p);
}

static long getsched(pid_t pid) {
    return syscall(SYS_sched_getscheduler, pid);
}

static long getparam(pid_t pid) {
    struct sched_param p = {.sched_priority = -1};
    long r = syscall(SYS_sched_getparam, pid, &p);
    return r < 0 ? r : p.sched_priority;
}

/* A pid that names no thread: a reaped child's. */
static pid_t dead_pid(void) {
    pid_t c = fork();
    if (c == 0) _exit(0);
    waitpid(c, 0, 0);
    return c;
}

KT_CASE(getpriority_setpriority_nice_values) {
    errno = 0;
    KT_EQ(getpriority(PRIO_PROCESS, 0), 0);
    KT_EQ(errno, 0);
    KT_SYS_OK(setpriority(PRIO_PROCESS, 0, 5));
    KT_EQ(getpriority(PRIO_PROCESS, 0), 5);
    KT_EQ(getpriority(PRIO_PROCESS, getpid()), 5);
    /* the raw call answers 20 - nice */
    KT_EQ(syscall(SYS_getpriority, PRIO_PROCESS, 0), 15);
    /* a child inherits the nice value */
    int p[2];
    KT_SYS_OK(pipe(p));
    pid_t c = KT_FORK();
    if (c == 0) {
        int n = getpriority(PRIO_PROCESS, 0);
        write(p[1], &n, sizeof n);
        _exit(0);
    }
    int n = -100;
    KT_EQ(read(p[0], &n, sizeof n), (long)sizeof n);
    KT_EQ(n, 5);
    KT_WAIT_STATUS(c, kt_exited(0));
    close(p[0]);
    close(p[1]);
    /* out of range values are clamped */
    KT_SYS_OK(setpriority(PRIO_PROCESS, 0, 100));
    KT_EQ(getpriority(PRIO_PROCESS, 0), 19);
    KT_SYS_OK(setpriority(PRIO_PROCESS, 0, -100)); /* root: CAP_SYS_NICE */
    KT_EQ(getpriority(PRIO_PROCESS, 0), -20);
    KT_SYS_OK(setpriority(PRIO_PROCESS, 0, 0));
    KT_EQ(getpriority(PRIO_PROCESS, 0), 0);
}

KT_CASE(getpriority_setpriority_errors) {
    pid_t gone = dead_pid();
    KT_SYS_ERR(getpriority(PRIO_PROCESS, gone), ESRCH);
    KT_SYS_ERR(setpriority(PRIO_PROCESS, gone, 1), ESRCH);
    KT_SYS_ERR(getpriority(7, 0), EINVAL);
    KT_SYS_ERR(setpriority(-1, 0, 1), EINVAL);
    KT_SYS_ERR(getpriority(PRIO_PROCESS, -5), ESRCH);
}

/* A child that blocks until `hold` (a pipe's write end) is closed. */
static pid_t holder(int hold[2]) {
    pid_t c = fork();
    if (c == 0) {
        char b;
        close(hold[1]);
        read(hold[0], &b, 1);
        _exit(0);
    }
    return c;
}

/* PRIO_PGRP with who 0: the caller's group; the lowest nice value wins. */
static int own_group_priority(void) {
    KT_CHILD_CHECK(1, setpgid(0, 0) == 0);
    KT_CHILD_CHECK(2, setpriority(PRIO_PGRP, 0, 4) == 0);
    KT_CHILD_CHECK(3, getpriority(PRIO_PROCESS, 0) == 4);
    int hold[2];
    KT_CHILD_CHECK(4, pipe(hold) == 0);
    pid_t c = holder(hold);
    KT_CHILD_CHECK(5, c > 0);
    KT_CHILD_CHECK(6, getpriority(PRIO_PROCESS, c) == 4);
    KT_CHILD_CHECK(7, setpriority(PRIO_PROCESS, c, 2) == 0);
    errno = 0;
    KT_CHILD_CHECK(8, getpriority(PRIO_PGRP, 0) == 2 && errno == 0);
    KT_CHILD_CHECK(9, getpriority(PRIO_PGRP, getpid()) == 2);
    KT_CHILD_CHECK(10, setpriority(PRIO_PGRP, 0, 11) == 0);
    KT_CHILD_CHECK(11, getpriority(PRIO_PROCESS, c) == 11 && getpriority(PRIO_PROCESS, 0) == 11);
    close(hold[1]);
    KT_CHILD_CHECK(12, waitpid(c, 0, 0) == c);
    return 0;
}

KT_CASE(priority_of_a_process_group) {
    int hold[2];
    KT_SYS_OK(pipe(hold));
    pid_t a = holder(hold);
    KT_TRUE(a > 0, "fork");
    KT_SYS_OK(setpgid(a, a));
    pid_t b = holder(hold);
    KT_TRUE(b > 0, "fork");
    KT_SYS_OK(setpgid(b, a));
    KT_SYS_OK(setpriority(PRIO_PGRP, a, 7));
    KT_EQ(getpriority(PRIO_PROCESS, a), 7);
    KT_EQ(getpriority(PRIO_PROCESS, b), 7);
    KT_EQ(getpriority(PRIO_PROCESS, 0), 0); /* not in that group */
    KT_SYS_OK(setpriority(PRIO_PROCESS, b, 3));
    KT_EQ(getpriority(PRIO_PGRP, a), 3);
    /* the raw call answers 20 - the lowest nice value */
    KT_EQ(syscall(SYS_getpriority, PRIO_PGRP, a), 17);
    close(hold[0]);
    close(hold[1]);
    KT_WAIT_STATUS(a, kt_exited(0));
    KT_WAIT_STATUS(b, kt_exited(0));
    /* a group with no member, a negative group */
    KT_SYS_ERR(getpriority(PRIO_PGRP, a), ESRCH);
    KT_SYS_ERR(setpriority(PRIO_PGRP, a, 1), ESRCH);
    KT_SYS_ERR(getpriority(PRIO_PGRP, -1), ESRCH);
    KT_EQ(kt_in_child(own_group_priority), 0);
}

/* Two processes of user 4321: PRIO_USER names both; one of them, not
 * root, may raise its user's nice value but not lower it again. */
static int user_priority(void) {
    int hold[2];
    KT_CHILD_CHECK(1, pipe(hold) == 0);
    KT_CHILD_CHECK(2, setgid(4321) == 0 && setuid(4321) == 0);
    pid_t c = holder(hold);
    KT_CHILD_CHECK(3, c > 0);
    KT_CHILD_CHECK(4, setpriority(PRIO_USER, 0, 6) == 0);
    KT_CHILD_CHECK(5, getpriority(PRIO_PROCESS, c) == 6 && getpriority(PRIO_PROCESS, 0) == 6);
    KT_CHILD_CHECK(6, getpriority(PRIO_USER, 4321) == 6);
    errno = 0;
    KT_CHILD_CHECK(7, setpriority(PRIO_USER, 4321, 1) == -1 && errno == EACCES);
    KT_CHILD_CHECK(8, getpriority(PRIO_PROCESS, c) == 6);
    close(hold[1]);
    KT_CHILD_CHECK(9, waitpid(c, 0, 0) == c);
    return 0;
}

KT_CASE(priority_of_a_user) {
    KT_EQ(kt_in_child(user_priority), 0);
    /* nobody runs as 54321 */
    KT_SYS_ERR(getpriority(PRIO_USER, 54321), ESRCH);
    KT_SYS_ERR(setpriority(PRIO_USER, 54321, 1), ESRCH);
    /* root's own processes: the caller is one of them */
    errno = 0;
    int n = getpriority(PRIO_USER, 0);
    KT_EQ(errno, 0);
    KT_TRUE(n <= getpriority(PRIO_PROCESS, 0), "PRIO_USER 0 gave %d", n);
}

static int pin_cpu0(void);

/* Fields 18-19 (priority, nice) and 39-41 (processor, rt_priority,
 * policy) of /proc/self/stat; 0 when read, -1 if not. */
static int stat_fields(long v[5]) {
    char buf[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p) return -1;
    /* field 3 (state) follows ") " */
    int field = 2;
    for (char *q = p + 1; *q; q++) {
        if (*q != ' ') continue;
        field++;
        long x = strtol(q + 1, 0, 10);
        if (field == 18) v[0] = x;
        if (field == 19) v[1] = x;
        if (field >= 39 && field <= 41) v[field - 37] = x;
    }
    return field == 52 ? 0 : -1;
}

static int proc_stat_priority(void) {
    long v[5] = {-99, -99, -99, -99, -99};
    KT_CHILD_CHECK(1, pin_cpu0() == 0);
    KT_CHILD_CHECK(2, stat_fields(v) == 0);
    KT_CHILD_CHECK(3, v[0] == 20 && v[1] == 0 && v[2] == 0 && v[3] == 0 && v[4] == SCHED_OTHER);
    KT_CHILD_CHECK(4, setpriority(PRIO_PROCESS, 0, 5) == 0);
    KT_CHILD_CHECK(5, stat_fields(v) == 0);
    KT_CHILD_CHECK(6, v[0] == 25 && v[1] == 5);
    KT_CHILD_CHECK(7, setsched(0, SCHED_IDLE, 0) == 0);
    KT_CHILD_CHECK(8, stat_fields(v) == 0);
    KT_CHILD_CHECK(9, v[0] == 25 && v[1] == 5 && v[4] == SCHED_IDLE);
    KT_CHILD_CHECK(10, setsched(0, SCHED_FIFO, 10) == 0);
    KT_CHILD_CHECK(11, stat_fields(v) == 0);
    /* task_prio: 99 - 10 - 100; nice stays what setpriority left */
    KT_CHILD_CHECK(12, v[0] == -11 && v[1] == 5 && v[3] == 10 && v[4] == SCHED_FIFO);
    KT_CHILD_CHECK(13, setsched(0, SCHED_OTHER, 0) == 0);
    return 0;
}

KT_CASE(proc_stat_shows_priority_nice_and_policy) {
    KT_EQ(kt_in_child(proc_stat_priority), 0);
}

struct kt_sched_attr {
    unsigned int size, policy;
    unsigned long long flags;
    int nice;
    unsigned int priority;
    unsigned long long runtime, deadline, period;
    unsigned int util_min, util_max;
    unsigned char tail[16]; /* a newer user space's fields */
};

static long setattr(pid_t pid, struct kt_sched_attr *a, unsigned int flags) {
    return syscall(SYS_sched_setattr, pid, a, flags);
}

static long getattr(pid_t pid, struct kt_sched_attr *a, unsigned int size, unsigned int flags) {
    return syscall(SYS_sched_getattr, pid, a, size, flags);
}

KT_CASE(sched_getattr_sizes_and_errors) {
    struct kt_sched_attr a;
    memset(&a, 0xaa, sizeof a);
    KT_SYS_OK(getattr(0, &a, 48, 0));
    KT_EQ(a.size, 48u);
    KT_EQ(a.policy, (unsigned)SCHED_OTHER);
    KT_EQ(a.flags, 0ull);
    KT_EQ(a.nice, getpriority(PRIO_PROCESS, 0));
    KT_EQ(a.priority, 0u);
    KT_EQ(a.runtime, 0ull);
    KT_EQ(a.period, 0ull);
    /* 48 bytes copied: the clamps are left as they were */
    KT_EQ(a.util_min, 0xaaaaaaaau);
    /* a larger buffer: the kernel's size, nothing past it written */
    memset(&a, 0xaa, sizeof a);
    KT_SYS_OK(getattr(0, &a, sizeof a, 0));
    KT_EQ(a.size, 56u);
    KT_EQ(a.tail[0], 0xaa);
    KT_SYS_ERR(getattr(0, &a, 47, 0), EINVAL);
    KT_SYS_ERR(getattr(0, &a, 4097, 0), EINVAL);
    KT_SYS_ERR(getattr(0, &a, 56, 1), EINVAL);
    KT_SYS_ERR(getattr(0, 0, 56, 0), EINVAL);
    KT_SYS_ERR(getattr(-1, &a, 56, 0), EINVAL);
    KT_SYS_ERR(getattr(dead_pid(), &a, 56, 0), ESRCH);
    KT_SYS_ERR(getattr(0, (void *)8, 56, 0), EFAULT);
}

static int setattr_changes(void) {
    struct kt_sched_attr a = {.size = 48, .policy = SCHED_BATCH, .nice = 3};
    KT_CHILD_CHECK(1, setattr(0, &a, 0) == 0);
    KT_CHILD_CHECK(2, getsched(0) == SCHED_BATCH && getpriority(PRIO_PROCESS, 0) == 3);
    /* size 0 is VER0; the nice value is clamped */
    memset(&a, 0, sizeof a);
    a.policy = SCHED_OTHER;
    a.nice = -100;
    KT_CHILD_CHECK(3, setattr(0, &a, 0) == 0);
    KT_CHILD_CHECK(4, getsched(0) == SCHED_OTHER && getpriority(PRIO_PROCESS, 0) == -20);
    /* SCHED_FLAG_KEEP_POLICY: only the nice value changes */
    a = (struct kt_sched_attr){.size = 48, .policy = SCHED_FIFO, .flags = 0x08, .nice = 7};
    KT_CHILD_CHECK(5, setattr(0, &a, 0) == 0);
    KT_CHILD_CHECK(6, getsched(0) == SCHED_OTHER && getpriority(PRIO_PROCESS, 0) == 7);
    /* real time, with SCHED_FLAG_RESET_ON_FORK */
    a = (struct kt_sched_attr){.size = 48, .policy = SCHED_RR, .flags = 0x01, .priority = 9, .nice = -5};
    KT_CHILD_CHECK(7, setattr(0, &a, 0) == 0);
    KT_CHILD_CHECK(8, getsched(0) == (SCHED_RR | SCHED_RESET_ON_FORK) && getparam(0) == 9);
    /* the nice value is not a real-time policy's business */
    KT_CHILD_CHECK(9, getpriority(PRIO_PROCESS, 0) == 7);
    memset(&a, 0, sizeof a);
    KT_CHILD_CHECK(10, getattr(0, &a, 56, 0) == 0);
    KT_CHILD_CHECK(11, a.policy == SCHED_RR && a.flags == 1 && a.priority == 9 && a.nice == 0);
    /* a larger struct: zero bytes past the kernel's are fine */
    a = (struct kt_sched_attr){.size = sizeof a, .policy = SCHED_OTHER, .nice = 2};
    KT_CHILD_CHECK(12, setattr(0, &a, 0) == 0);
    KT_CHILD_CHECK(13, getsched(0) == SCHED_OTHER && getpriority(PRIO_PROCESS, 0) == 2);
    return 0;
}

KT_CASE(sched_setattr_changes_policy_nice_and_flags) {
    KT_EQ(kt_in_child(setattr_changes), 0);
}

KT_CASE(sched_setattr_errors) {
    struct kt_sched_attr a = {.size = 40, .policy = SCHED_OTHER};
    /* too small: E2BIG with the kernel's size written back */
    KT_SYS_ERR(setattr(0, &a, 0), E2BIG);
    KT_EQ(a.size, 56u);
    a = (struct kt_sched_attr){.size = 8192, .policy = SCHED_OTHER};
    KT_SYS_ERR(setattr(0, &a, 0), E2BIG);
    KT_EQ(a.size, 56u);
    /* bytes we do not know must be zero */
    a = (struct kt_sched_attr){.size = sizeof a, .policy = SCHED_OTHER};
    a.tail[3] = 1;
    KT_SYS_ERR(setattr(0, &a, 0), E2BIG);
    KT_EQ(a.size, 56u);
    a = (struct kt_sched_attr){.size = 48, .policy = SCHED_OTHER};
    KT_SYS_ERR(setattr(0, &a, 1), EINVAL);
    KT_SYS_ERR(setattr(0, 0, 0), EINVAL);
    KT_SYS_ERR(setattr(-1, &a, 0), EINVAL);
    KT_SYS_ERR(setattr(dead_pid(), &a, 0), ESRCH);
    KT_SYS_ERR(setattr(0, (void *)8, 0), EFAULT);
    a.flags = 0x80;
    KT_SYS_ERR(setattr(0, &a, 0), EINVAL);
    a = (struct kt_sched_attr){.size = 48, .policy = 4};
    KT_SYS_ERR(setattr(0, &a, 0), EINVAL);
    a.policy = (unsigned)-1;
    KT_SYS_ERR(setattr(0, &a, 0), EINVAL);
    a = (struct kt_sched_attr){.size = 48, .policy = SCHED_FIFO};
    KT_SYS_ERR(setattr(0, &a, 0), EINVAL); /* priority 0 */
    a.priority = 100;
    KT_SYS_ERR(setattr(0, &a, 0), EINVAL);
    a = (struct kt_sched_attr){.size = 48, .policy = SCHED_OTHER, .priority = 1};
    KT_SYS_ERR(setattr(0, &a, 0), EINVAL);
    /* the clamps need the VER1 size */
    a = (struct kt_sched_attr){.size = 48, .policy = SCHED_OTHER, .flags = 0x20};
    KT_SYS_ERR(setattr(0, &a, 0), EINVAL);
    /* SCHED_DEADLINE with parameters Linux refuses */
    a = (struct kt_sched_attr){.size = 48, .policy = SCHED_DEADLINE, .runtime = 10000000, .deadline = 5000000};
    KT_SYS_ERR(setattr(0, &a, 0), EINVAL);
    a.deadline = 0;
    KT_SYS_ERR(setattr(0, &a, 0), EINVAL);
    KT_EQ(getsched(0), SCHED_OTHER);
}

static int unprivileged_setattr(void) {
    struct rlimit zero = {0, 0};
    KT_CHILD_CHECK(1, setrlimit(RLIMIT_NICE, &zero) == 0);
    KT_CHILD_CHECK(2, setgid(65534) == 0 && setuid(65534) == 0);
    struct kt_sched_attr a = {.size = 48, .policy = SCHED_OTHER, .nice = 5};
    KT_CHILD_CHECK(3, setattr(0, &a, 0) == 0 && getpriority(PRIO_PROCESS, 0) == 5);
    /* lower again: EPERM here (setpriority says EACCES) */
    a.nice = 4;
    errno = 0;
    KT_CHILD_CHECK(4, setattr(0, &a, 0) == -1 && errno == EPERM);
    a = (struct kt_sched_attr){.size = 48, .policy = SCHED_FIFO, .priority = 1};
    errno = 0;
    KT_CHILD_CHECK(5, setattr(0, &a, 0) == -1 && errno == EPERM);
    /* valid SCHED_DEADLINE parameters: EPERM without CAP_SYS_NICE */
    a = (struct kt_sched_attr){
        .size = 48, .policy = SCHED_DEADLINE, .runtime = 1000000, .deadline = 5000000, .period = 10000000};
    errno = 0;
    KT_CHILD_CHECK(6, setattr(0, &a, 0) == -1 && errno == EPERM);
    KT_CHILD_CHECK(7, getpriority(PRIO_PROCESS, 0) == 5 && getsched(0) == SCHED_OTHER);
    return 0;
}

KT_CASE(sched_setattr_unprivileged) {
    KT_EQ(kt_in_child(unprivileged_setattr), 0);
}

static pid_t parent_pid;

static int unprivileged_nice(void) {
    struct rlimit zero = {0, 0}, lim25 = {25, 25};
    KT_CHILD_CHECK(1, setrlimit(RLIMIT_NICE, &zero) == 0);
    KT_CHILD_CHECK(2, setrlimit(RLIMIT_RTPRIO, &zero) == 0);
    KT_CHILD_CHECK(3, setgid(65534) == 0 && setuid(65534) == 0);
    KT_CHILD_CHECK(4, setpriority(PRIO_PROCESS, 0, 5) == 0);
    /* lowering it again needs RLIMIT_NICE >= 20 - nice: EACCES */
    errno = 0;
    KT_CHILD_CHECK(5, setpriority(PRIO_PROCESS, 0, 4) == -1 && errno == EACCES);
    KT_CHILD_CHECK(6, getpriority(PRIO_PROCESS, 0) == 5);
    KT_CHILD_CHECK(7, setpriority(PRIO_PROCESS, 0, 6) == 0);
    /* another user's process: EPERM */
    errno = 0;
    KT_CHILD_CHECK(8, setpriority(PRIO_PROCESS, parent_pid, 0) == -1 && errno == EPERM);
    /* real time without RLIMIT_RTPRIO: EPERM */
    errno = 0;
    KT_CHILD_CHECK(9, setsched(0, SCHED_FIFO, 1) == -1 && errno == EPERM);
    errno = 0;
    KT_CHILD_CHECK(10, setsched(0, SCHED_RR, 1) == -1 && errno == EPERM);
    /* SCHED_BATCH and SCHED_IDLE need nothing; leaving IDLE needs
     * can_nice for the current nice value */
    KT_CHILD_CHECK(11, setsched(0, SCHED_BATCH, 0) == 0 && getsched(0) == SCHED_BATCH);
    KT_CHILD_CHECK(12, setsched(0, SCHED_IDLE, 0) == 0 && getsched(0) == SCHED_IDLE);
    errno = 0;
    KT_CHILD_CHECK(13, setsched(0, SCHED_OTHER, 0) == -1 && errno == EPERM);
    KT_CHILD_CHECK(14, getsched(0) == SCHED_IDLE);
    /* another user's thread */
    errno = 0;
    KT_CHILD_CHECK(15, setsched(parent_pid, SCHED_OTHER, 0) == -1 && errno == EPERM);
    /* a raised RLIMIT_NICE (its hard limit cannot be raised now: lowered
     * from 0 it stays) */
    errno = 0;
    KT_CHILD_CHECK(16, setrlimit(RLIMIT_NICE, &lim25) == -1 && errno == EPERM);
    return 0;
}

static int rlimit_nice_allows(void) {
    struct rlimit lim25 = {25, 25}; /* nice down to 20 - 25 = -5 */
    KT_CHILD_CHECK(1, setrlimit(RLIMIT_NICE, &lim25) == 0);
    KT_CHILD_CHECK(2, setgid(65534) == 0 && setuid(65534) == 0);
    KT_CHILD_CHECK(3, setpriority(PRIO_PROCESS, 0, -5) == 0);
    KT_CHILD_CHECK(4, getpriority(PRIO_PROCESS, 0) == -5);
    errno = 0;
    KT_CHILD_CHECK(5, setpriority(PRIO_PROCESS, 0, -6) == -1 && errno == EACCES);
    return 0;
}

static int rlimit_rtprio_allows(void) {
    struct rlimit lim5 = {5, 5};
    KT_CHILD_CHECK(1, setrlimit(RLIMIT_RTPRIO, &lim5) == 0);
    KT_CHILD_CHECK(2, setgid(65534) == 0 && setuid(65534) == 0);
    KT_CHILD_CHECK(3, setsched(0, SCHED_RR, 5) == 0);
    KT_CHILD_CHECK(4, getsched(0) == SCHED_RR && getparam(0) == 5);
    errno = 0;
    KT_CHILD_CHECK(5, setsched(0, SCHED_RR, 6) == -1 && errno == EPERM);
    KT_CHILD_CHECK(6, setsched(0, SCHED_OTHER, 0) == 0);
    return 0;
}

KT_CASE(unprivileged_limits) {
    parent_pid = getpid();
    KT_EQ(kt_in_child(unprivileged_nice), 0);
    KT_EQ(kt_in_child(rlimit_nice_allows), 0);
    KT_EQ(kt_in_child(rlimit_rtprio_allows), 0);
}

KT_CASE(priority_ranges) {
    KT_EQ(sched_get_priority_max(SCHED_FIFO), 99);
    KT_EQ(sched_get_priority_min(SCHED_FIFO), 1);
    KT_EQ(sched_get_priority_max(SCHED_RR), 99);
    KT_EQ(sched_get_priority_min(SCHED_RR), 1);
    KT_EQ(sched_get_priority_max(SCHED_OTHER), 0);
    KT_EQ(sched_get_priority_min(SCHED_OTHER), 0);
    KT_EQ(sched_get_priority_max(SCHED_BATCH), 0);
    KT_EQ(sched_get_priority_max(SCHED_IDLE), 0);
    KT_EQ(sched_get_priority_max(SCHED_DEADLINE), 0);
    KT_SYS_ERR(sched_get_priority_max(4), EINVAL);
    KT_SYS_ERR(sched_get_priority_min(42), EINVAL);
    KT_SYS_ERR(sched_get_priority_max(-1), EINVAL);
}

KT_CASE(setscheduler_argument_errors) {
    KT_EQ(getsched(0), SCHED_OTHER);
    KT_EQ(getparam(0), 0);
    KT_SYS_ERR(setsched(0, SCHED_FIFO, 0), EINVAL);
    KT_SYS_ERR(setsched(0, SCHED_FIFO, 100), EINVAL);
    KT_SYS_ERR(setsched(0, SCHED_RR, -1), EINVAL);
    KT_SYS_ERR(setsched(0, SCHED_OTHER, 1), EINVAL);
    KT_SYS_ERR(setsched(0, 42, 0), EINVAL);
    KT_SYS_ERR(setsched(0, -1, 0), EINVAL);
    KT_SYS_ERR(setsched(0, SCHED_DEADLINE, 0), EINVAL);
    KT_SYS_ERR(setsched(-1, SCHED_OTHER, 0), EINVAL);
    KT_SYS_ERR(syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, 0), EINVAL);
    KT_SYS_ERR(syscall(SYS_sched_setparam, 0, 0), EINVAL);
    KT_SYS_ERR(syscall(SYS_sched_getparam, 0, 0), EINVAL);
    KT_SYS_ERR(syscall(SYS_sched_getscheduler, -1), EINVAL);
    KT_SYS_ERR(syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, (void *)8), EFAULT);
    pid_t gone = dead_pid();
    KT_SYS_ERR(setsched(gone, SCHED_OTHER, 0), ESRCH);
    KT_SYS_ERR(getsched(gone), ESRCH);
    KT_SYS_ERR(getparam(gone), ESRCH);
    struct timespec ts;
    KT_SYS_ERR(sched_rr_get_interval(gone, &ts), ESRCH);
    KT_SYS_ERR(sched_rr_get_interval(-1, &ts), EINVAL);
    KT_EQ(getsched(0), SCHED_OTHER);
}

static int root_real_time(void) {
    struct timespec ts;
    KT_CHILD_CHECK(1, setsched(0, SCHED_FIFO, 10) == 0);
    KT_CHILD_CHECK(2, getsched(0) == SCHED_FIFO && getparam(0) == 10);
    KT_CHILD_CHECK(3, sched_rr_get_interval(0, &ts) == 0 && ts.tv_sec == 0 && ts.tv_nsec == 0);
    struct sched_param p = {.sched_priority = 20};
    KT_CHILD_CHECK(4, syscall(SYS_sched_setparam, 0, &p) == 0 && getparam(0) == 20 && getsched(0) == SCHED_FIFO);
    p.sched_priority = 0;
    errno = 0;
    KT_CHILD_CHECK(5, syscall(SYS_sched_setparam, 0, &p) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(6, setsched(0, SCHED_RR, 99) == 0 && getsched(0) == SCHED_RR);
    KT_CHILD_CHECK(7, sched_rr_get_interval(0, &ts) == 0 && ts.tv_sec == 0 && ts.tv_nsec == 100000000);
    KT_CHILD_CHECK(8, setsched(0, SCHED_OTHER, 0) == 0 && getsched(0) == SCHED_OTHER && getparam(0) == 0);
    /* the nice value stays through policy changes */
    KT_CHILD_CHECK(9, setpriority(PRIO_PROCESS, 0, 3) == 0 && setsched(0, SCHED_BATCH, 0) == 0);
    KT_CHILD_CHECK(10, getpriority(PRIO_PROCESS, 0) == 3 && getsched(0) == SCHED_BATCH);
    return 0;
}

KT_CASE(root_sets_real_time_policies) {
    KT_EQ(kt_in_child(root_real_time), 0);
}

/* Two CPU-bound children pinned to one CPU, nice 0 and nice 10, released
 * together; after a while each one's CPU time (from wait4's rusage). On
 * Linux the ratio is near 1024/110 = 9.3; the check is a loose 3. */
static pid_t spinner(int nice, int go, int go_w) {
    pid_t c = fork();
    if (c == 0) {
        if (setpriority(PRIO_PROCESS, 0, nice) != 0) _exit(1);
        char b;
        close(go_w);
        if (read(go, &b, 1) != 0) _exit(2);
        for (volatile unsigned long i = 0;; i++) {
        }
    }
    return c;
}

static long long cpu_us(pid_t c) {
    struct rusage ru;
    int st;
    if (kill(c, SIGKILL) != 0 || wait4(c, &st, 0, &ru) != c) return -1;
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

KT_CASE(nice_10_gets_a_small_share_of_a_shared_cpu) {
    cpu_set_t old, one;
    KT_SYS_OK(sched_getaffinity(0, sizeof old, &old));
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    KT_SYS_OK(sched_setaffinity(0, sizeof one, &one));
    int go[2];
    KT_SYS_OK(pipe(go));
    pid_t a = spinner(0, go[0], go[1]);
    pid_t b = spinner(10, go[0], go[1]);
    KT_SYS_OK(sched_setaffinity(0, sizeof old, &old));
    KT_TRUE(a > 0 && b > 0, "fork");
    close(go[0]);
    kt_msleep(50);
    close(go[1]); /* both start */
    kt_msleep(1500);
    long long ua = cpu_us(a), ub = cpu_us(b);
    KT_TRUE(ua > 0 && ub >= 0, "cpu times %lld %lld", ua, ub);
    printf("  nice 0: %lld us, nice 10: %lld us of CPU time\n", ua, ub);
    KT_TRUE(ua > 3 * ub, "nice 0 ran %lld us, nice 10 ran %lld us (want > 3x)", ua, ub);
    /* and nice 10 was not starved */
    KT_TRUE(ub > 0, "nice 10 ran %lld us", ub);
}

/* Three real-time children of one priority pinned to CPU 0. */
#define NRT 3
#define NYIELD 60

struct rt_shared {
    volatile long long deadline_ns; /* CLOCK_MONOTONIC */
    volatile long count[NRT];
    volatile int armed; /* children with their policy set */
    volatile int ready;
    volatile int next;
    volatile char log[NRT * NYIELD];
};

static long long mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int pin_cpu0(void) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    return sched_setaffinity(0, sizeof one, &one);
}

/* Forks NRT children running child(sh, i, go) and waits until every one
 * has set its real-time policy (a fair child still on CPU 0 would wait
 * behind the real-time ones); *start gets the pipe's write end, whose
 * close starts them (-1 when this failed). */
static void rt_children(struct rt_shared *sh, void (*child)(struct rt_shared *, int, int), pid_t *c, int *start) {
    *start = -1;
    int go[2];
    KT_SYS_OK(pipe(go));
    for (int i = 0; i < NRT; i++) {
        c[i] = KT_FORK();
        if (c[i] == 0) {
            close(go[1]);
            child(sh, i, go[0]);
        }
    }
    close(go[0]);
    for (int k = 0; k < 2000 && __atomic_load_n(&sh->armed, __ATOMIC_SEQ_CST) < NRT; k++) kt_msleep(5);
    KT_EQ(sh->armed, NRT);
    kt_msleep(20);
    *start = go[1];
}

/* SCHED_RR, priority 10, on CPU 0: counts loops until the deadline. */
static void rr_counter(struct rt_shared *sh, int me, int go) {
    char b;
    if (pin_cpu0() != 0 || setsched(0, SCHED_RR, 10) != 0) _exit(1);
    __atomic_fetch_add(&sh->armed, 1, __ATOMIC_SEQ_CST);
    if (read(go, &b, 1) != 0) _exit(2);
    long n = 0;
    for (;;) {
        for (volatile int i = 0; i < 1000; i++) {
        }
        n++;
        if ((n & 15) == 0 && mono_ns() >= sh->deadline_ns) break;
    }
    sh->count[me] = n;
    _exit(0);
}

/* Linux puts an RR task whose slice ran out at the tail of its priority's
 * list: three equal ones on one CPU share it (each about a third; the
 * check is a loose 10%). */
KT_CASE(sched_rr_equal_priorities_share_a_cpu) {
    struct rt_shared *sh = mmap(0, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    KT_TRUE(sh != MAP_FAILED, "mmap");
    pid_t c[NRT];
    int start;
    rt_children(sh, rr_counter, c, &start);
    if (start < 0) return;
    sh->deadline_ns = mono_ns() + 1000000000LL;
    close(start); /* all start */
    for (int i = 0; i < NRT; i++) KT_WAIT_STATUS(c[i], kt_exited(0));
    long total = 0;
    for (int i = 0; i < NRT; i++) total += sh->count[i];
    printf("  loops: %ld %ld %ld\n", sh->count[0], sh->count[1], sh->count[2]);
    for (int i = 0; i < NRT; i++)
        KT_TRUE(sh->count[i] * 10 > total, "RR child %d ran %ld of %ld loops", i, sh->count[i], total);
    munmap((void *)sh, sizeof *sh);
}

/* SCHED_FIFO, priority 10, on CPU 0: once all are in, logs its number and
 * yields, NYIELD times. */
static void fifo_yielder(struct rt_shared *sh, int me, int go) {
    char b;
    if (pin_cpu0() != 0 || setsched(0, SCHED_FIFO, 10) != 0) _exit(1);
    __atomic_fetch_add(&sh->armed, 1, __ATOMIC_SEQ_CST);
    if (read(go, &b, 1) != 0) _exit(2);
    __atomic_fetch_add(&sh->ready, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&sh->ready, __ATOMIC_SEQ_CST) < NRT) sched_yield();
    for (int k = 0; k < NYIELD; k++) {
        int i = __atomic_fetch_add(&sh->next, 1, __ATOMIC_SEQ_CST);
        if (i < NRT * NYIELD) sh->log[i] = (char)('a' + me);
        sched_yield();
    }
    _exit(0);
}

/* sched_yield puts a FIFO task at the tail of its priority's list: three
 * equal ones on one CPU take turns in a fixed order. */
KT_CASE(sched_fifo_yield_takes_turns) {
    struct rt_shared *sh = mmap(0, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    KT_TRUE(sh != MAP_FAILED, "mmap");
    pid_t c[NRT];
    int start;
    rt_children(sh, fifo_yielder, c, &start);
    if (start < 0) return;
    close(start);
    for (int i = 0; i < NRT; i++) KT_WAIT_STATUS(c[i], kt_exited(0));
    KT_EQ(sh->next, NRT * NYIELD);
    char first[NRT * NYIELD + 1];
    for (int i = 0; i < NRT * NYIELD; i++) first[i] = sh->log[i];
    first[NRT * NYIELD] = 0;
    KT_TRUE(first[0] != first[1] && first[1] != first[2] && first[0] != first[2], "order %s", first);
    for (int i = NRT; i < NRT * NYIELD; i++)
        KT_TRUE(first[i] == first[i - NRT], "turn %d: order %s", i, first);
    munmap((void *)sh, sizeof *sh);
}

/* SCHED_RESET_ON_FORK: reported by sched_getscheduler, kept by
 * sched_setparam, clearable only with privilege; a child starts as
 * SCHED_OTHER (from a real-time policy) with a nice value of at least 0,
 * without the flag. */
static int reset_on_fork_child(void) {
    int p[2];
    KT_CHILD_CHECK(1, pipe(p) == 0);
    KT_CHILD_CHECK(2, setsched(0, SCHED_FIFO | SCHED_RESET_ON_FORK, 10) == 0);
    KT_CHILD_CHECK(3, getsched(0) == (SCHED_FIFO | SCHED_RESET_ON_FORK) && getparam(0) == 10);
    struct sched_param sp = {.sched_priority = 11};
    KT_CHILD_CHECK(4, syscall(SYS_sched_setparam, 0, &sp) == 0);
    KT_CHILD_CHECK(5, getsched(0) == (SCHED_FIFO | SCHED_RESET_ON_FORK) && getparam(0) == 11);
    KT_CHILD_CHECK(6, setpriority(PRIO_PROCESS, 0, -5) == 0);
    pid_t c = fork();
    if (c == 0) {
        int r[3] = {(int)getsched(0), (int)getparam(0), getpriority(PRIO_PROCESS, 0)};
        write(p[1], r, sizeof r);
        _exit(0);
    }
    int r[3] = {-1, -1, -1};
    KT_CHILD_CHECK(7, read(p[0], r, sizeof r) == (long)sizeof r);
    KT_CHILD_CHECK(8, waitpid(c, 0, 0) == c);
    KT_CHILD_CHECK(9, r[0] == SCHED_OTHER && r[1] == 0 && r[2] == 0);
    /* a fair policy keeps a nice value >= 0 */
    KT_CHILD_CHECK(10, setsched(0, SCHED_BATCH | SCHED_RESET_ON_FORK, 0) == 0);
    KT_CHILD_CHECK(11, setpriority(PRIO_PROCESS, 0, 7) == 0);
    c = fork();
    if (c == 0) {
        int q[3] = {(int)getsched(0), (int)getparam(0), getpriority(PRIO_PROCESS, 0)};
        write(p[1], q, sizeof q);
        _exit(0);
    }
    KT_CHILD_CHECK(12, read(p[0], r, sizeof r) == (long)sizeof r);
    KT_CHILD_CHECK(13, waitpid(c, 0, 0) == c);
    KT_CHILD_CHECK(14, r[0] == SCHED_BATCH && r[1] == 0 && r[2] == 7);
    /* cleared by a call without it (root may) */
    KT_CHILD_CHECK(15, setsched(0, SCHED_OTHER, 0) == 0 && getsched(0) == SCHED_OTHER);
    /* an unprivileged caller may set it but not clear it */
    KT_CHILD_CHECK(16, setsched(0, SCHED_OTHER | SCHED_RESET_ON_FORK, 0) == 0);
    KT_CHILD_CHECK(17, setgid(65534) == 0 && setuid(65534) == 0);
    errno = 0;
    KT_CHILD_CHECK(18, setsched(0, SCHED_OTHER, 0) == -1 && errno == EPERM);
    KT_CHILD_CHECK(19, getsched(0) == (SCHED_OTHER | SCHED_RESET_ON_FORK));
    KT_CHILD_CHECK(20, setsched(0, SCHED_BATCH | SCHED_RESET_ON_FORK, 0) == 0);
    KT_CHILD_CHECK(21, getsched(0) == (SCHED_BATCH | SCHED_RESET_ON_FORK));
    return 0;
}

KT_CASE(sched_reset_on_fork) {
    KT_EQ(kt_in_child(reset_on_fork_child), 0);
}

/* A migration at exec (Linux's sched_exec, ours balance_exec): a
 * process (nice -20, so that nothing preempts it first) that shares its
 * CPU with a runnable child (pinned there, nice 19) execs while the other
 * CPU idles, and moves there. Linux counts the move as an involuntary
 * switch (its CPU's stopper preempts it; then the task may also sleep
 * once, voluntarily, if it reaches the other CPU before the stopper
 * reported the move done): the new image checks getrusage's counts
 * against the old image's (passed in argv) and exits 1 when it moved, 0
 * when it did not, 2 on a voluntary switch (beyond that one), 3 on a
 * move without an involuntary switch. */
static void exec_csw_helper(int argc, char **argv) {
    if (argc < 6 || strcmp(argv[1], "kt-exec-csw") != 0) return;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    int moved = sched_getcpu() != atoi(argv[4]);
    long nv = ru.ru_nvcsw - atol(argv[2]), niv = ru.ru_nivcsw - atol(argv[3]);
    kill(atoi(argv[5]), SIGKILL);
    int bad = nv > moved ? 2 : moved && niv < 1 ? 3 : 0;
    if (bad) kt_printf("  exec on CPU %s: moved %d, nvcsw +%ld, nivcsw +%ld\n", argv[4], moved, nv, niv);
    _exit(bad ? bad : moved);
}

static int exec_migrates(void) {
    cpu_set_t all, one;
    KT_CHILD_CHECK(10, sched_getaffinity(0, sizeof all, &all) == 0);
    if (CPU_COUNT(&all) < 2) return 1;
    KT_CHILD_CHECK(11, setpriority(PRIO_PROCESS, 0, -20) == 0);
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    KT_CHILD_CHECK(12, sched_setaffinity(0, sizeof one, &one) == 0);
    pid_t c = fork();
    if (c == 0) {
        for (;;) {
        }
    }
    KT_CHILD_CHECK(13, c > 0 && setpriority(PRIO_PROCESS, c, 19) == 0);
    KT_CHILD_CHECK(14, sched_setaffinity(0, sizeof all, &all) == 0);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    char nv[24], niv[24], from[24], pid[24];
    snprintf(nv, sizeof nv, "%ld", ru.ru_nvcsw);
    snprintf(niv, sizeof niv, "%ld", ru.ru_nivcsw);
    snprintf(from, sizeof from, "%d", sched_getcpu());
    snprintf(pid, sizeof pid, "%d", (int)c);
    char *argv[] = {(char *)kt_self, "kt-exec-csw", nv, niv, from, pid, 0};
    execv(kt_self, argv);
    kill(c, SIGKILL);
    return 15;
}

KT_CASE(sched_exec_migration_is_involuntary) {
    cpu_set_t all;
    KT_SYS_OK(sched_getaffinity(0, sizeof all, &all));
    if (CPU_COUNT(&all) < 2) KT_SKIP("one CPU: an exec has nowhere to move");
    int moves = 0;
    for (int i = 0; i < 5; i++) {
        int r = kt_in_child(exec_migrates);
        KT_TRUE(r == 0 || r == 1, "try %d: %d", i, r);
        moves += r == 1;
    }
    KT_TRUE(moves >= 1, "no exec moved in 5 tries");
}

int main(int argc, char **argv) {
    exec_csw_helper(argc, argv);
    return kt_main(argc, argv);
}
