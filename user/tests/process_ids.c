/* Process ids, process groups and sessions: getpid/getppid/gettid,
 * setpgid/getpgid/getpgrp, setsid/getsid and their errnos. */
#include "kt.h"
#include <sys/prctl.h>

/* Runs `fn` in a forked child: the child exits 0 when it returns; its
 * checks end it with KT_CHILD_FAILED. */
#define IN_CHILD(body)                                                                    \
    do {                                                                                  \
        pid_t c_ = KT_FORK();                                                             \
        if (c_ == 0) {                                                                    \
            body;                                                                         \
            _exit(0);                                                                     \
        }                                                                                 \
        KT_WAIT_STATUS(c_, kt_exited(0));                                                 \
    } while (0)

static pid_t parent_pid;

static void child_sees_parent(void) {
    KT_EQ(getppid(), parent_pid);
    KT_NE(getpid(), parent_pid);
}

KT_CASE(child_ppid_is_parent_and_pid_differs) {
    parent_pid = getpid();
    IN_CHILD(child_sees_parent());
}

KT_CASE(gettid_is_pid_in_a_single_threaded_process) {
    KT_EQ(syscall(SYS_gettid), getpid());
}

KT_CASE(getpgid_0_and_getpgrp_agree) {
    KT_EQ(getpgid(0), getpgrp());
    KT_EQ(getpgid(getpid()), getpgrp());
    KT_EQ(getsid(0), getsid(getpid()));
}

KT_CASE(child_inherits_group_and_session) {
    pid_t g = getpgrp(), s = getsid(0);
    pid_t p = KT_FORK();
    if (p == 0) _exit(getpgrp() == g && getsid(0) == s ? 0 : 1);
    KT_WAIT_STATUS(p, kt_exited(0));
    KT_EQ(getpgid(p), -1); /* reaped: gone */
}

static void new_group(void) {
    KT_SYS_RET(setpgid(0, 0), 0);
    KT_EQ(getpgrp(), getpid());
}

KT_CASE(setpgid_0_0_makes_a_new_group) {
    IN_CHILD(new_group());
}

KT_CASE(setpgid_of_a_non_child_is_esrch) {
    KT_SYS_ERR(setpgid(1, 1), ESRCH);
    KT_SYS_ERR(setpgid(0x3fffffff, 0), ESRCH);
}

KT_CASE(setpgid_negative_pgid_is_einval) {
    KT_SYS_ERR(setpgid(0, -1), EINVAL);
}

KT_CASE(setpgid_by_parent_moves_child_into_a_sibling_group) {
    pid_t a = KT_FORK();
    if (a == 0) {
        for (;;) pause();
    }
    pid_t b = KT_FORK();
    if (b == 0) {
        for (;;) pause();
    }
    KT_SYS_RET(setpgid(a, a), 0);
    KT_SYS_RET(setpgid(b, a), 0);
    KT_EQ(getpgid(a), a);
    KT_EQ(getpgid(b), a);
    KT_SYS_RET(kill(-a, SIGKILL), 0); /* the group gets it */
    KT_WAIT_STATUS(a, kt_killed(SIGKILL));
    KT_WAIT_STATUS(b, kt_killed(SIGKILL));
}

KT_CASE(setpgid_to_a_group_that_does_not_exist_is_eperm) {
    pid_t a = KT_FORK();
    if (a == 0) {
        for (;;) pause();
    }
    pid_t b = KT_FORK();
    if (b == 0) {
        for (;;) pause();
    }
    /* b's pid is not a process group (b is in ours) */
    KT_SYS_ERR(setpgid(a, b), EPERM);
    kill(a, SIGKILL);
    kill(b, SIGKILL);
    KT_WAIT_STATUS(a, kt_killed(SIGKILL));
    KT_WAIT_STATUS(b, kt_killed(SIGKILL));
}

static void leader_setsid(void) {
    KT_SYS_RET(setpgid(0, 0), 0);
    KT_SYS_ERR(setsid(), EPERM);
}

KT_CASE(setsid_by_a_group_leader_is_eperm) {
    IN_CHILD(leader_setsid());
}

static void child_setsid(void) {
    pid_t me = getpid();
    KT_SYS_RET(setsid(), me);
    KT_EQ(getsid(0), me);
    KT_EQ(getpgrp(), me);
    /* a session leader cannot change its group */
    KT_SYS_ERR(setpgid(0, 0), EPERM);
    /* and cannot start another session */
    KT_SYS_ERR(setsid(), EPERM);
}

KT_CASE(setsid_makes_session_and_group) {
    IN_CHILD(child_setsid());
}

KT_CASE(setpgid_of_a_child_in_another_session_is_eperm) {
    int fds[2];
    KT_SYS_RET(pipe(fds), 0);
    pid_t p = KT_FORK();
    if (p == 0) {
        setsid();
        write(fds[1], "x", 1);
        for (;;) pause();
    }
    char c;
    KT_SYS_RET(read(fds[0], &c, 1), 1);
    KT_EQ(getsid(p), p);
    KT_SYS_ERR(setpgid(p, p), EPERM);
    KT_SYS_ERR(setpgid(p, getpgrp()), EPERM);
    kill(p, SIGKILL);
    KT_WAIT_STATUS(p, kt_killed(SIGKILL));
    close(fds[0]);
    close(fds[1]);
}

KT_CASE(setpgid_after_the_child_execs_is_eacces) {
    int fds[2];
    KT_SYS_RET(pipe2(fds, O_CLOEXEC), 0);
    pid_t p = KT_FORK();
    if (p == 0) {
        char *argv[] = {(char *)kt_self, "kt-sleep", 0};
        execv(kt_self, argv);
        _exit(127);
    }
    close(fds[1]);
    char c;
    /* EOF once the exec closed the write end */
    KT_SYS_RET(read(fds[0], &c, 1), 0);
    KT_SYS_ERR(setpgid(p, p), EACCES);
    kill(p, SIGKILL);
    KT_WAIT_STATUS(p, kt_killed(SIGKILL));
    close(fds[0]);
}

KT_CASE(getsid_and_getpgid_of_nobody_are_esrch) {
    KT_SYS_ERR(getsid(0x3fffffff), ESRCH);
    KT_SYS_ERR(getpgid(0x3fffffff), ESRCH);
}

KT_CASE(getsid_of_another_process_in_the_session) {
    pid_t p = KT_FORK();
    if (p == 0) {
        for (;;) pause();
    }
    KT_EQ(getsid(p), getsid(0));
    KT_EQ(getpgid(p), getpgrp());
    kill(p, SIGKILL);
    KT_WAIT_STATUS(p, kt_killed(SIGKILL));
}

/* PR_SET_NAME reads at most 15 bytes: a name that fills the last 15 bytes
 * of a page before an unmapped one is taken whole (strncpy_from_user). */
KT_CASE(prctl_set_name_reads_at_most_15_bytes) {
    char *p = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KT_TRUE(p != MAP_FAILED, "mmap: %s", kt_errname(errno));
    KT_SYS_RET(munmap(p + 4096, 4096), 0);
    char *name = p + 4096 - 15;
    memcpy(name, "abcdefghijklmno", 15);
    KT_SYS_RET(prctl(PR_SET_NAME, name, 0, 0, 0), 0);
    char got[16] = {0};
    KT_SYS_RET(prctl(PR_GET_NAME, got, 0, 0, 0), 0);
    KT_TRUE(!strcmp(got, "abcdefghijklmno"), "name %s", got);
    KT_SYS_ERR(prctl(PR_SET_NAME, p + 8192, 0, 0, 0), EFAULT);
    KT_SYS_ERR(prctl(0x7fff1234, 0, 0, 0, 0), EINVAL);
    munmap(p, 4096);
}

KT_CASE(getrandom_flags_and_lengths) {
    char b[16];
    KT_SYS_RET(syscall(SYS_getrandom, b, 0, 0), 0);
    KT_SYS_RET(syscall(SYS_getrandom, b, 16, 1), 16);
    KT_SYS_ERR(syscall(SYS_getrandom, b, 16, 8), EINVAL);
    /* GRND_RANDOM with GRND_INSECURE */
    KT_SYS_ERR(syscall(SYS_getrandom, b, 16, 6), EINVAL);
    KT_SYS_ERR(syscall(SYS_getrandom, (void *)8, 16, 0), EFAULT);
}

KT_CASE(setgroups_without_privilege_is_eperm_first) {
    pid_t p = KT_FORK();
    if (p == 0) {
        KT_SYS_RET(setuid(65534), 0);
        KT_SYS_ERR(syscall(SYS_setgroups, 70000, 0), EPERM);
        KT_SYS_ERR(syscall(SYS_setgroups, 1, (void *)8), EPERM);
        _exit(0);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
    KT_SYS_ERR(syscall(SYS_setgroups, 70000, 0), EINVAL);
    KT_SYS_ERR(syscall(SYS_setgroups, 1, (void *)8), EFAULT);
    KT_SYS_ERR(syscall(SYS_getgroups, -1, 0), EINVAL);
}

KT_CASE(sched_getaffinity_names_a_thread) {
    unsigned long m[2] = {0, 0};
    KT_SYS_RET(syscall(SYS_sched_getaffinity, 0, 8, m), 8);
    KT_EQ(m[0] & 1, 1);
    KT_SYS_RET(syscall(SYS_sched_getaffinity, getpid(), 16, m), 8);
    /* the length is an unsigned int: the upper half is not looked at */
    KT_SYS_RET(syscall(SYS_sched_getaffinity, 0, (1UL << 32) | 8, m), 8);
    KT_SYS_ERR(syscall(SYS_sched_getaffinity, 0, 4, m), EINVAL);
    KT_SYS_ERR(syscall(SYS_sched_getaffinity, 4000000, 8, m), ESRCH);
    KT_SYS_ERR(syscall(SYS_sched_getaffinity, -1, 8, m), ESRCH);
}

KT_MAIN()
