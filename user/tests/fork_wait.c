/* fork, exit and the wait family: status encodings, selectors, options. */
#include "kt.h"

KT_CASE(fork_returns_pid_in_parent_zero_in_child) {
    pid_t p = KT_FORK();
    if (p == 0) _exit(0);
    KT_TRUE(p > 0, "fork returned %d", (int)p);
    int st = -1;
    KT_SYS_RET(wait4(p, &st, 0, 0), p);
    KT_EQ(st, 0);
}

KT_CASE(exit_status_encoding) {
    pid_t p = KT_FORK();
    if (p == 0) _exit(42);
    int st = 0;
    KT_SYS_RET(waitpid(p, &st, 0), p);
    KT_EQ(st, 42 << 8);
    KT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 42, "status 0x%x", st);
}

KT_CASE(exit_status_keeps_low_8_bits) {
    pid_t p = KT_FORK();
    if (p == 0) syscall(SYS_exit_group, 0x1ff);
    KT_WAIT_STATUS(p, kt_exited(0xff));
}

KT_CASE(killed_by_signal_encoding) {
    pid_t p = KT_FORK();
    if (p == 0) {
        kill(getpid(), SIGKILL);
        _exit(1);
    }
    int st = 0;
    KT_SYS_RET(waitpid(p, &st, 0), p);
    KT_EQ(st, SIGKILL);
    KT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status 0x%x", st);
}

/* SIGABRT's default action is "core", but with RLIMIT_CORE 0 no core file is
 * written and Linux does not set the 0x80 bit. */
KT_CASE(core_signal_without_core_limit_has_no_core_bit) {
    pid_t p = KT_FORK();
    if (p == 0) {
        struct rlimit rl = {0, 0};
        setrlimit(RLIMIT_CORE, &rl);
        signal(SIGABRT, SIG_DFL);
        kill(getpid(), SIGABRT);
        _exit(1);
    }
    KT_WAIT_STATUS(p, kt_killed(SIGABRT));
}

KT_CASE(wnohang_running_child_returns_0) {
    pid_t p = KT_FORK();
    if (p == 0) {
        for (;;) pause();
    }
    int st = 12345;
    KT_SYS_RET(waitpid(p, &st, WNOHANG), 0);
    KT_EQ(st, 12345);
    KT_SYS_RET(kill(p, SIGTERM), 0);
    KT_WAIT_STATUS(p, kt_killed(SIGTERM));
}

KT_CASE(echild_without_children) {
    int st;
    KT_SYS_ERR(wait4(-1, &st, 0, 0), ECHILD);
    KT_SYS_ERR(waitpid(-1, &st, WNOHANG), ECHILD);
}

KT_CASE(echild_for_a_pid_that_is_not_a_child) {
    int st;
    KT_SYS_ERR(waitpid(1, &st, 0), ECHILD);
    KT_SYS_ERR(waitpid(getpid(), &st, 0), ECHILD);
}

KT_CASE(zombie_is_reaped_exactly_once) {
    pid_t p = KT_FORK();
    if (p == 0) _exit(3);
    KT_WAIT_STATUS(p, kt_exited(3));
    int st;
    KT_SYS_ERR(waitpid(p, &st, 0), ECHILD);
}

KT_CASE(waitpid_selects_the_given_child) {
    pid_t a = KT_FORK();
    if (a == 0) _exit(1);
    pid_t b = KT_FORK();
    if (b == 0) _exit(2);
    KT_WAIT_STATUS(b, kt_exited(2));
    KT_WAIT_STATUS(a, kt_exited(1));
}

KT_CASE(wait_any_returns_each_child_once) {
    pid_t kids[3];
    for (int i = 0; i < 3; i++) {
        kids[i] = KT_FORK();
        if (kids[i] == 0) _exit(10 + i);
    }
    int seen = 0;
    for (int n = 0; n < 3; n++) {
        int st;
        pid_t r = KT_SYS_OK(wait(&st));
        int i = 0;
        while (i < 3 && kids[i] != r) i++;
        KT_TRUE(i < 3, "wait returned %d, not one of the children", (int)r);
        KT_EQ(st, kt_exited(10 + i));
        KT_TRUE(!(seen & (1 << i)), "child %d reported twice", (int)r);
        seen |= 1 << i;
    }
    int st;
    KT_SYS_ERR(wait(&st), ECHILD);
}

KT_CASE(wait4_rejects_unknown_options) {
    int st;
    KT_SYS_ERR(wait4(-1, &st, 0x100, 0), EINVAL);
    KT_SYS_ERR(wait4(-1, &st, WNOWAIT, 0), EINVAL); /* waitid only */
}

KT_CASE(waitid_exited_fills_siginfo) {
    pid_t p = KT_FORK();
    if (p == 0) _exit(7);
    siginfo_t si;
    memset(&si, 0xff, sizeof si);
    KT_SYS_RET(waitid(P_PID, p, &si, WEXITED), 0);
    KT_EQ(si.si_signo, SIGCHLD);
    KT_EQ(si.si_code, CLD_EXITED);
    KT_EQ(si.si_pid, p);
    KT_EQ(si.si_status, 7);
    KT_EQ(si.si_uid, getuid());
}

KT_CASE(waitid_killed_reports_the_signal) {
    pid_t p = KT_FORK();
    if (p == 0) {
        for (;;) pause();
    }
    KT_SYS_RET(kill(p, SIGUSR1), 0);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    KT_SYS_RET(waitid(P_PID, p, &si, WEXITED), 0);
    KT_EQ(si.si_code, CLD_KILLED);
    KT_EQ(si.si_status, SIGUSR1);
    KT_EQ(si.si_pid, p);
}

KT_CASE(waitid_wnowait_leaves_the_zombie) {
    pid_t p = KT_FORK();
    if (p == 0) _exit(5);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    KT_SYS_RET(waitid(P_PID, p, &si, WEXITED | WNOWAIT), 0);
    KT_EQ(si.si_pid, p);
    KT_EQ(si.si_status, 5);
    KT_WAIT_STATUS(p, kt_exited(5));
}

KT_CASE(waitid_wnohang_nothing_ready_zeroes_si_pid) {
    pid_t p = KT_FORK();
    if (p == 0) {
        for (;;) pause();
    }
    siginfo_t si;
    memset(&si, 0xff, sizeof si);
    KT_SYS_RET(waitid(P_PID, p, &si, WEXITED | WNOHANG), 0);
    KT_EQ(si.si_pid, 0);
    KT_EQ(si.si_signo, 0);
    kill(p, SIGKILL);
    KT_WAIT_STATUS(p, kt_killed(SIGKILL));
}

KT_CASE(waitid_needs_an_event_option) {
    siginfo_t si;
    KT_SYS_ERR(waitid(P_ALL, 0, &si, 0), EINVAL);
    KT_SYS_ERR(waitid(P_ALL, 0, &si, WNOHANG), EINVAL);
    KT_SYS_ERR(waitid((idtype_t)42, 0, &si, WEXITED), EINVAL);
}

KT_CASE(wuntraced_and_wcontinued_report_stop_and_continue) {
    pid_t p = KT_FORK();
    if (p == 0) {
        raise(SIGSTOP);
        for (;;) pause();
    }
    int st = 0;
    KT_SYS_RET(waitpid(p, &st, WUNTRACED), p);
    KT_EQ(st, kt_stopped(SIGSTOP)); /* 0x137f */
    KT_SYS_RET(kill(p, SIGCONT), 0);
    KT_SYS_RET(waitpid(p, &st, WCONTINUED), p);
    KT_EQ(st, kt_continued()); /* 0xffff */
    KT_SYS_RET(kill(p, SIGKILL), 0);
    KT_WAIT_STATUS(p, kt_killed(SIGKILL));
}

KT_CASE(waitid_wstopped_and_wcontinued_codes) {
    pid_t p = KT_FORK();
    if (p == 0) {
        raise(SIGSTOP);
        for (;;) pause();
    }
    siginfo_t si;
    memset(&si, 0, sizeof si);
    KT_SYS_RET(waitid(P_PID, p, &si, WSTOPPED), 0);
    KT_EQ(si.si_code, CLD_STOPPED);
    KT_EQ(si.si_status, SIGSTOP);
    KT_SYS_RET(kill(p, SIGCONT), 0);
    memset(&si, 0, sizeof si);
    KT_SYS_RET(waitid(P_PID, p, &si, WCONTINUED), 0);
    KT_EQ(si.si_code, CLD_CONTINUED);
    KT_EQ(si.si_status, SIGCONT);
    KT_SYS_RET(kill(p, SIGKILL), 0);
    KT_WAIT_STATUS(p, kt_killed(SIGKILL));
}

KT_CASE(waitpid_0_is_own_group_and_negative_is_a_group) {
    pid_t p = KT_FORK();
    if (p == 0) {
        setpgid(0, 0);
        _exit(9);
    }
    setpgid(p, p); /* either side may win the race; both set the same group */
    siginfo_t si;
    memset(&si, 0, sizeof si);
    KT_SYS_RET(waitid(P_PID, p, &si, WEXITED | WNOWAIT), 0);
    int st;
    KT_SYS_ERR(waitpid(0, &st, WNOHANG), ECHILD);
    KT_SYS_ERR(waitpid(-getpgrp(), &st, WNOHANG), ECHILD);
    KT_SYS_RET(waitpid(-p, &st, 0), p);
    KT_EQ(st, kt_exited(9));
}

KT_CASE(a_vfork_parent_can_be_killed_while_it_waits) {
    volatile int *shared = kt_shared_page();
    KT_TRUE(shared != NULL, "no shared page");
    shared[0] = 0;
    pid_t b = KT_FORK();
    if (b == 0) {
        pid_t c = vfork();
        if (c == 0) {
            /* the child keeps the parent's memory and never lets go */
            shared[0] = getpid();
            for (;;) pause();
        }
        _exit(3);
    }
    for (int i = 0; i < 200 && shared[0] == 0; i++) kt_msleep(5);
    pid_t c = shared[0];
    KT_TRUE(c > 0, "the vfork child did not start");
    KT_SYS_RET(kill(b, SIGKILL), 0);
    int st = 0;
    pid_t r = 0;
    for (int i = 0; i < 400 && r == 0; i++) {
        r = waitpid(b, &st, WNOHANG);
        if (r == 0) kt_msleep(5);
    }
    kill(c, SIGKILL); /* reparented: init reaps it */
    KT_EQ(r, b);
    KT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status %#x", st);
}

KT_MAIN()
