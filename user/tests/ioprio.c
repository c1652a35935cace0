/* I/O priorities as Debian's Linux 6.1 answers them: ioprio_set(2) and
 * ioprio_get(2) for a thread, a process group and a user; the class check
 * (EINVAL; the level is the low 3 bits, so any level passes for the
 * real-time and best-effort classes), the real-time class for the
 * privileged only (EPERM), ESRCH for no thread, inheritance by fork. What
 * ionice(1) calls. Each case runs in a child, so the runner keeps its
 * own. */
#include "kt.h"

#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define WHO_PROCESS 1
#define WHO_PGRP 2
#define WHO_USER 3
#define CLASS_RT 1
#define CLASS_BE 2
#define CLASS_IDLE 3
#define PRIO(class, data) (((class) << 13) | (data))

static long ioprio_set(int which, int who, int prio) {
    return syscall(SYS_ioprio_set, which, who, prio);
}

static long ioprio_get(int which, int who) {
    return syscall(SYS_ioprio_get, which, who);
}

static int set_and_get(void) {
    /* a thread that set none reads 0 (the class none) */
    KT_CHILD_CHECK(1, ioprio_get(WHO_PROCESS, 0) == 0);
    KT_CHILD_CHECK(2, ioprio_set(WHO_PROCESS, 0, PRIO(CLASS_BE, 7)) == 0);
    KT_CHILD_CHECK(3, ioprio_get(WHO_PROCESS, 0) == PRIO(CLASS_BE, 7));
    KT_CHILD_CHECK(4, ioprio_get(WHO_PROCESS, getpid()) == PRIO(CLASS_BE, 7));
    KT_CHILD_CHECK(5, ioprio_set(WHO_PROCESS, getpid(), PRIO(CLASS_IDLE, 0)) == 0);
    KT_CHILD_CHECK(6, ioprio_get(WHO_PROCESS, 0) == PRIO(CLASS_IDLE, 0));
    /* the idle class keeps whatever level it is given */
    KT_CHILD_CHECK(7, ioprio_set(WHO_PROCESS, 0, PRIO(CLASS_IDLE, 5)) == 0);
    KT_CHILD_CHECK(8, ioprio_get(WHO_PROCESS, 0) == PRIO(CLASS_IDLE, 5));
    /* root may take the real-time class */
    KT_CHILD_CHECK(9, ioprio_set(WHO_PROCESS, 0, PRIO(CLASS_RT, 0)) == 0);
    KT_CHILD_CHECK(10, ioprio_get(WHO_PROCESS, 0) == PRIO(CLASS_RT, 0));
    return 0;
}

KT_CASE(ioprio_set_then_get_of_self) {
    KT_EQ(kt_in_child(set_and_get), 0);
}

static int bad_values(void) {
    errno = 0;
    KT_CHILD_CHECK(1, ioprio_set(WHO_PROCESS, 0, PRIO(4, 0)) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(2, ioprio_set(WHO_PROCESS, 0, PRIO(7, 1)) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(3, ioprio_set(WHO_PROCESS, 0, -1) == -1 && errno == EINVAL);
    /* the class none takes no level (its low 3 bits) */
    KT_CHILD_CHECK(4, ioprio_set(WHO_PROCESS, 0, PRIO(0, 1)) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(5, ioprio_set(WHO_PROCESS, 0, PRIO(0, 8)) == 0);
    KT_CHILD_CHECK(6, ioprio_get(WHO_PROCESS, 0) == 8);
    /* the level is the low 3 bits: any other data passes and is kept */
    KT_CHILD_CHECK(11, ioprio_set(WHO_PROCESS, 0, PRIO(CLASS_BE, 8)) == 0);
    KT_CHILD_CHECK(12, ioprio_get(WHO_PROCESS, 0) == PRIO(CLASS_BE, 8));
    KT_CHILD_CHECK(13, ioprio_set(WHO_PROCESS, 0, PRIO(CLASS_BE, 0x1fff)) == 0);
    KT_CHILD_CHECK(14, ioprio_get(WHO_PROCESS, 0) == PRIO(CLASS_BE, 0x1fff));
    /* kept as an unsigned short */
    KT_CHILD_CHECK(15, ioprio_set(WHO_PROCESS, 0, 0x10000 | PRIO(CLASS_BE, 1)) == 0);
    KT_CHILD_CHECK(16, ioprio_get(WHO_PROCESS, 0) == PRIO(CLASS_BE, 1));
    KT_CHILD_CHECK(17, ioprio_set(WHO_PROCESS, 0, 0) == 0);
    KT_CHILD_CHECK(18, ioprio_get(WHO_PROCESS, 0) == 0);
    /* the value is checked before `which` */
    errno = 0;
    KT_CHILD_CHECK(7, ioprio_set(0, 0, PRIO(5, 0)) == -1 && errno == EINVAL);
    errno = 0;
    KT_CHILD_CHECK(19, ioprio_set(0, 0, PRIO(CLASS_BE, 1)) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(8, ioprio_set(4, 0, PRIO(CLASS_BE, 1)) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(9, ioprio_get(0, 0) == -1 && errno == EINVAL);
    KT_CHILD_CHECK(10, ioprio_get(4, 0) == -1 && errno == EINVAL);
    return 0;
}

KT_CASE(ioprio_bad_classes_levels_and_which_are_einval) {
    KT_EQ(kt_in_child(bad_values), 0);
}

KT_CASE(ioprio_of_no_thread_is_esrch) {
    pid_t c = KT_FORK();
    if (c == 0) _exit(0);
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_SYS_ERR(ioprio_get(WHO_PROCESS, c), ESRCH);
    KT_SYS_ERR(ioprio_set(WHO_PROCESS, c, PRIO(CLASS_BE, 1)), ESRCH);
    KT_SYS_ERR(ioprio_get(WHO_PROCESS, -5), ESRCH);
}

static int inherited(void) {
    KT_CHILD_CHECK(1, ioprio_set(WHO_PROCESS, 0, PRIO(CLASS_BE, 2)) == 0);
    int p[2];
    KT_CHILD_CHECK(2, pipe(p) == 0);
    pid_t c = fork();
    if (c == 0) {
        long v = ioprio_get(WHO_PROCESS, 0);
        write(p[1], &v, sizeof v);
        _exit(0);
    }
    long v = -1;
    KT_CHILD_CHECK(3, read(p[0], &v, sizeof v) == sizeof v);
    KT_CHILD_CHECK(4, v == PRIO(CLASS_BE, 2));
    KT_CHILD_CHECK(5, waitpid(c, 0, 0) == c);
    /* and the parent may set its child's */
    pid_t d = fork();
    if (d == 0) {
        pause();
        _exit(0);
    }
    KT_CHILD_CHECK(6, ioprio_set(WHO_PROCESS, d, PRIO(CLASS_IDLE, 0)) == 0);
    KT_CHILD_CHECK(7, ioprio_get(WHO_PROCESS, d) == PRIO(CLASS_IDLE, 0));
    kill(d, SIGKILL);
    KT_CHILD_CHECK(8, waitpid(d, 0, 0) == d);
    return 0;
}

KT_CASE(ioprio_is_inherited_by_fork) {
    KT_EQ(kt_in_child(inherited), 0);
}

static int group(void) {
    KT_CHILD_CHECK(1, setpgid(0, 0) == 0);
    pid_t d = fork();
    if (d == 0) {
        pause();
        _exit(0);
    }
    /* the best (lowest value) of the group; two that set none read as
     * best effort, level 4 */
    KT_CHILD_CHECK(2, ioprio_get(WHO_PGRP, 0) == PRIO(CLASS_BE, 4));
    KT_CHILD_CHECK(3, ioprio_set(WHO_PROCESS, d, PRIO(CLASS_BE, 6)) == 0);
    KT_CHILD_CHECK(4, ioprio_get(WHO_PGRP, 0) == PRIO(CLASS_BE, 4));
    KT_CHILD_CHECK(5, ioprio_set(WHO_PROCESS, 0, PRIO(CLASS_IDLE, 0)) == 0);
    KT_CHILD_CHECK(6, ioprio_get(WHO_PGRP, getpid()) == PRIO(CLASS_BE, 6));
    /* one call sets every thread of the group */
    KT_CHILD_CHECK(7, ioprio_set(WHO_PGRP, 0, PRIO(CLASS_BE, 1)) == 0);
    KT_CHILD_CHECK(8, ioprio_get(WHO_PROCESS, d) == PRIO(CLASS_BE, 1));
    KT_CHILD_CHECK(9, ioprio_get(WHO_PROCESS, 0) == PRIO(CLASS_BE, 1));
    kill(d, SIGKILL);
    KT_CHILD_CHECK(10, waitpid(d, 0, 0) == d);
    return 0;
}

KT_CASE(ioprio_of_a_process_group) {
    KT_EQ(kt_in_child(group), 0);
}

static pid_t root_child;

static int unprivileged(void) {
    KT_CHILD_CHECK(1, setuid(65534) == 0);
    errno = 0;
    KT_CHILD_CHECK(2, ioprio_set(WHO_PROCESS, 0, PRIO(CLASS_RT, 0)) == -1 && errno == EPERM);
    KT_CHILD_CHECK(3, ioprio_set(WHO_PROCESS, 0, PRIO(CLASS_BE, 3)) == 0);
    KT_CHILD_CHECK(4, ioprio_get(WHO_PROCESS, 0) == PRIO(CLASS_BE, 3));
    /* another user's process: readable, not settable */
    KT_CHILD_CHECK(5, ioprio_get(WHO_PROCESS, root_child) == 0);
    errno = 0;
    KT_CHILD_CHECK(6, ioprio_set(WHO_PROCESS, root_child, PRIO(CLASS_BE, 3)) == -1 && errno == EPERM);
    /* the user's own threads by uid */
    KT_CHILD_CHECK(7, ioprio_get(WHO_USER, 65534) == PRIO(CLASS_BE, 3));
    return 0;
}

KT_CASE(ioprio_realtime_class_and_other_users_need_privilege) {
    root_child = KT_FORK();
    if (root_child == 0) {
        pause();
        _exit(0);
    }
    int r = kt_in_child(unprivileged);
    kill(root_child, SIGKILL);
    KT_WAIT_STATUS(root_child, kt_killed(SIGKILL));
    KT_EQ(r, 0);
}

static pid_t target;

static int by_real_uid(void) {
    /* the target's real uid is the caller's real uid: allowed, whatever
     * the effective uid */
    KT_CHILD_CHECK(1, setresuid(1000, 2000, 2000) == 0);
    KT_CHILD_CHECK(2, ioprio_set(WHO_PROCESS, target, PRIO(CLASS_BE, 5)) == 0);
    KT_CHILD_CHECK(3, ioprio_get(WHO_PROCESS, target) == PRIO(CLASS_BE, 5));
    return 0;
}

static int by_other_uid(void) {
    KT_CHILD_CHECK(1, setresuid(3000, 3000, 3000) == 0);
    errno = 0;
    KT_CHILD_CHECK(2, ioprio_set(WHO_PROCESS, target, PRIO(CLASS_BE, 6)) == -1 && errno == EPERM);
    return 0;
}

KT_CASE(ioprio_set_needs_the_targets_real_uid_as_callers_real_or_effective) {
    target = KT_FORK();
    if (target == 0) {
        if (setresuid(1000, 1000, 1000)) _exit(1);
        pause();
        _exit(0);
    }
    kt_msleep(20);
    int a = kt_in_child(by_real_uid);
    int b = kt_in_child(by_other_uid);
    kill(target, SIGKILL);
    KT_WAIT_STATUS(target, kt_killed(SIGKILL));
    KT_EQ(a, 0);
    KT_EQ(b, 0);
}

KT_MAIN()
