/* Signals within one process and across fork: sigaction, sigprocmask,
 * kill, pending sets, SIG_IGN, handler masks, queueing, default actions. */
#include "kt.h"

static volatile sig_atomic_t hits;
static volatile sig_atomic_t last_sig;
static volatile sig_atomic_t self_blocked_in_handler;
static volatile sig_atomic_t usr2_blocked_in_handler;

static void handler(int sig) {
    hits++;
    last_sig = sig;
    sigset_t cur;
    sigprocmask(SIG_BLOCK, 0, &cur);
    self_blocked_in_handler = sigismember(&cur, sig);
    usr2_blocked_in_handler = sigismember(&cur, SIGUSR2);
}

static int set_handler(int sig, void (*fn)(int), int flags, const sigset_t *mask) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    if (mask) sa.sa_mask = *mask;
    return sigaction(sig, &sa, 0);
}

/* Back to SIG_DFL with nothing pending (SIG_IGN first discards a pending
 * signal) and an empty mask. */
static void reset(int sig) {
    signal(sig, SIG_IGN);
    signal(sig, SIG_DFL);
    sigset_t s;
    sigemptyset(&s);
    sigprocmask(SIG_SETMASK, &s, 0);
    hits = 0;
    last_sig = 0;
}

static int is_pending(int sig) {
    sigset_t s;
    sigemptyset(&s);
    sigpending(&s);
    return sigismember(&s, sig);
}

KT_CASE(sigaction_returns_the_old_action) {
    KT_SYS_RET(set_handler(SIGUSR1, handler, SA_RESTART, 0), 0);
    struct sigaction old;
    memset(&old, 0, sizeof old);
    KT_SYS_RET(sigaction(SIGUSR1, 0, &old), 0);
    KT_TRUE(old.sa_handler == handler, "handler not returned");
    KT_TRUE(old.sa_flags & SA_RESTART, "flags 0x%x", (unsigned)old.sa_flags);
    reset(SIGUSR1);
    KT_SYS_RET(sigaction(SIGUSR1, 0, &old), 0);
    KT_TRUE(old.sa_handler == SIG_DFL, "not SIG_DFL after reset");
}

KT_CASE(sigaction_on_sigkill_and_sigstop_is_einval) {
    KT_SYS_ERR(set_handler(SIGKILL, handler, 0, 0), EINVAL);
    KT_SYS_ERR(set_handler(SIGSTOP, SIG_IGN, 0, 0), EINVAL);
    struct sigaction old;
    KT_SYS_RET(sigaction(SIGKILL, 0, &old), 0); /* querying is fine */
    KT_TRUE(old.sa_handler == SIG_DFL, "SIGKILL's action is not SIG_DFL");
}

KT_CASE(sigaction_bad_signal_numbers_are_einval) {
    struct sigaction old;
    KT_SYS_ERR(sigaction(0, 0, &old), EINVAL);
    KT_SYS_ERR(sigaction(65, 0, &old), EINVAL);
    KT_SYS_ERR(syscall(SYS_rt_sigaction, 0, 0, &old, 8), EINVAL);
    KT_SYS_ERR(syscall(SYS_rt_sigaction, 65, 0, &old, 8), EINVAL);
}

KT_CASE(rt_sigaction_and_rt_sigprocmask_want_sigsetsize_8) {
    char buf[64];
    KT_SYS_ERR(syscall(SYS_rt_sigaction, SIGUSR1, 0, buf, 4), EINVAL);
    KT_SYS_ERR(syscall(SYS_rt_sigaction, SIGUSR1, 0, buf, 16), EINVAL);
    KT_SYS_ERR(syscall(SYS_rt_sigprocmask, SIG_BLOCK, 0, buf, 4), EINVAL);
    KT_SYS_RET(syscall(SYS_rt_sigprocmask, SIG_BLOCK, 0, buf, 8), 0);
}

KT_CASE(kill_self_runs_the_handler_before_kill_returns) {
    KT_SYS_RET(set_handler(SIGUSR1, handler, 0, 0), 0);
    hits = 0;
    KT_SYS_RET(kill(getpid(), SIGUSR1), 0);
    KT_EQ(hits, 1);
    KT_EQ(last_sig, SIGUSR1);
    reset(SIGUSR1);
}

KT_CASE(blocked_signal_stays_pending_until_unblocked) {
    KT_SYS_RET(set_handler(SIGUSR1, handler, 0, 0), 0);
    sigset_t s, old;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    KT_SYS_RET(sigprocmask(SIG_BLOCK, &s, &old), 0);
    hits = 0;
    KT_SYS_RET(kill(getpid(), SIGUSR1), 0);
    KT_EQ(hits, 0);
    KT_TRUE(is_pending(SIGUSR1), "SIGUSR1 not pending");
    KT_SYS_RET(sigprocmask(SIG_SETMASK, &old, 0), 0);
    KT_EQ(hits, 1);
    KT_TRUE(!is_pending(SIGUSR1), "SIGUSR1 still pending");
    reset(SIGUSR1);
}

KT_CASE(standard_signals_coalesce_while_blocked) {
    KT_SYS_RET(set_handler(SIGUSR2, handler, 0, 0), 0);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR2);
    KT_SYS_RET(sigprocmask(SIG_BLOCK, &s, 0), 0);
    hits = 0;
    for (int i = 0; i < 3; i++) KT_SYS_RET(kill(getpid(), SIGUSR2), 0);
    KT_SYS_RET(sigprocmask(SIG_UNBLOCK, &s, 0), 0);
    KT_EQ(hits, 1);
    reset(SIGUSR2);
}

static volatile sig_atomic_t rt_values[8];
static volatile sig_atomic_t rt_count;

static void rt_handler(int sig, siginfo_t *si, void *uc) {
    (void)sig;
    (void)uc;
    if (rt_count < 8) rt_values[rt_count] = si->si_value.sival_int;
    rt_count++;
}

KT_CASE(realtime_signals_queue_in_order_with_values) {
    int sig = SIGRTMIN;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = rt_handler;
    sa.sa_flags = SA_SIGINFO;
    KT_SYS_RET(sigaction(sig, &sa, 0), 0);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    KT_SYS_RET(sigprocmask(SIG_BLOCK, &s, 0), 0);
    rt_count = 0;
    for (int i = 0; i < 3; i++) {
        union sigval v = {.sival_int = 100 + i};
        KT_SYS_RET(sigqueue(getpid(), sig, v), 0);
    }
    KT_EQ(rt_count, 0);
    KT_SYS_RET(sigprocmask(SIG_UNBLOCK, &s, 0), 0);
    KT_EQ(rt_count, 3);
    KT_EQ(rt_values[0], 100);
    KT_EQ(rt_values[1], 101);
    KT_EQ(rt_values[2], 102);
    reset(sig);
}

KT_CASE(ignored_signal_is_discarded) {
    KT_SYS_RET(set_handler(SIGUSR1, SIG_IGN, 0, 0), 0);
    KT_SYS_RET(kill(getpid(), SIGUSR1), 0);
    KT_TRUE(!is_pending(SIGUSR1), "an ignored, unblocked signal is pending");
    reset(SIGUSR1);
}

/* Linux queues a blocked signal even when it is ignored (the action may
 * change before it is unblocked). */
KT_CASE(ignored_but_blocked_signal_is_pending) {
    KT_SYS_RET(set_handler(SIGUSR1, SIG_IGN, 0, 0), 0);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    KT_SYS_RET(sigprocmask(SIG_BLOCK, &s, 0), 0);
    KT_SYS_RET(kill(getpid(), SIGUSR1), 0);
    KT_TRUE(is_pending(SIGUSR1), "not pending");
    reset(SIGUSR1);
}

KT_CASE(setting_sig_ign_discards_a_pending_signal) {
    KT_SYS_RET(set_handler(SIGUSR1, handler, 0, 0), 0);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    KT_SYS_RET(sigprocmask(SIG_BLOCK, &s, 0), 0);
    KT_SYS_RET(kill(getpid(), SIGUSR1), 0);
    KT_TRUE(is_pending(SIGUSR1), "not pending");
    KT_SYS_RET(set_handler(SIGUSR1, SIG_IGN, 0, 0), 0);
    KT_TRUE(!is_pending(SIGUSR1), "still pending after SIG_IGN");
    reset(SIGUSR1);
}

KT_CASE(sigkill_and_sigstop_cannot_be_blocked) {
    sigset_t all, cur;
    sigfillset(&all);
    KT_SYS_RET(syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, 0, 8), 0);
    KT_SYS_RET(sigprocmask(SIG_BLOCK, 0, &cur), 0);
    KT_EQ(sigismember(&cur, SIGKILL), 0);
    KT_EQ(sigismember(&cur, SIGSTOP), 0);
    KT_EQ(sigismember(&cur, SIGUSR1), 1);
    KT_EQ(sigismember(&cur, SIGRTMAX), 1);
    reset(SIGUSR1);
}

KT_CASE(sigprocmask_bad_how_is_einval) {
    sigset_t s;
    sigemptyset(&s);
    KT_SYS_ERR(syscall(SYS_rt_sigprocmask, 3, &s, 0, 8), EINVAL);
    KT_SYS_ERR(syscall(SYS_rt_sigprocmask, -1, &s, 0, 8), EINVAL);
    /* with no new set, how is not looked at */
    KT_SYS_RET(syscall(SYS_rt_sigprocmask, 99, 0, &s, 8), 0);
}

KT_CASE(kill_signal_0_and_bad_signals) {
    KT_SYS_RET(kill(getpid(), 0), 0);
    KT_SYS_ERR(kill(getpid(), 65), EINVAL);
    KT_SYS_ERR(kill(getpid(), -1), EINVAL);
    KT_SYS_ERR(kill(0x3fffffff, 0), ESRCH);
    KT_SYS_ERR(kill(-0x3fffffff, SIGUSR1), ESRCH);
}

KT_CASE(handler_runs_with_its_signal_and_sa_mask_blocked) {
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR2);
    KT_SYS_RET(set_handler(SIGUSR1, handler, 0, &m), 0);
    self_blocked_in_handler = usr2_blocked_in_handler = -1;
    KT_SYS_RET(raise(SIGUSR1), 0);
    KT_EQ(self_blocked_in_handler, 1);
    KT_EQ(usr2_blocked_in_handler, 1);
    sigset_t cur;
    KT_SYS_RET(sigprocmask(SIG_BLOCK, 0, &cur), 0);
    KT_EQ(sigismember(&cur, SIGUSR1), 0); /* restored after the handler */
    KT_EQ(sigismember(&cur, SIGUSR2), 0);
    reset(SIGUSR1);
}

KT_CASE(sa_nodefer_leaves_the_signal_unblocked) {
    KT_SYS_RET(set_handler(SIGUSR1, handler, SA_NODEFER, 0), 0);
    self_blocked_in_handler = -1;
    KT_SYS_RET(raise(SIGUSR1), 0);
    KT_EQ(self_blocked_in_handler, 0);
    reset(SIGUSR1);
}

KT_CASE(sa_resethand_restores_the_default_after_one_delivery) {
    KT_SYS_RET(set_handler(SIGUSR1, handler, SA_RESETHAND, 0), 0);
    hits = 0;
    KT_SYS_RET(raise(SIGUSR1), 0);
    KT_EQ(hits, 1);
    struct sigaction old;
    KT_SYS_RET(sigaction(SIGUSR1, 0, &old), 0);
    KT_TRUE(old.sa_handler == SIG_DFL, "handler still installed");
    reset(SIGUSR1);
}

KT_CASE(default_action_of_sigusr1_terminates) {
    pid_t p = KT_FORK();
    if (p == 0) {
        signal(SIGUSR1, SIG_DFL);
        raise(SIGUSR1);
        _exit(0);
    }
    KT_WAIT_STATUS(p, kt_killed(SIGUSR1));
}

KT_CASE(default_action_of_sigchld_and_sigurg_is_ignore) {
    pid_t p = KT_FORK();
    if (p == 0) {
        signal(SIGCHLD, SIG_DFL);
        signal(SIGURG, SIG_DFL);
        raise(SIGCHLD);
        raise(SIGURG);
        _exit(4);
    }
    KT_WAIT_STATUS(p, kt_exited(4));
}

KT_CASE(sigchld_is_sent_when_a_child_exits) {
    KT_SYS_RET(set_handler(SIGCHLD, handler, 0, 0), 0);
    sigset_t s, old;
    sigemptyset(&s);
    sigaddset(&s, SIGCHLD);
    KT_SYS_RET(sigprocmask(SIG_BLOCK, &s, &old), 0);
    hits = 0;
    pid_t p = KT_FORK();
    if (p == 0) _exit(0);
    KT_WAIT_STATUS(p, kt_exited(0));
    KT_TRUE(is_pending(SIGCHLD), "SIGCHLD not pending after the child exited");
    KT_SYS_RET(sigprocmask(SIG_SETMASK, &old, 0), 0);
    KT_EQ(hits, 1);
    KT_EQ(last_sig, SIGCHLD);
    reset(SIGCHLD);
}

KT_CASE(fork_keeps_mask_and_handlers_but_not_pending) {
    KT_SYS_RET(set_handler(SIGUSR1, handler, 0, 0), 0);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    KT_SYS_RET(sigprocmask(SIG_BLOCK, &s, 0), 0);
    KT_SYS_RET(raise(SIGUSR1), 0);
    pid_t p = KT_FORK();
    if (p == 0) {
        sigset_t cur;
        sigprocmask(SIG_BLOCK, 0, &cur);
        KT_EQ(sigismember(&cur, SIGUSR1), 1);
        KT_EQ(is_pending(SIGUSR1), 0);
        struct sigaction old;
        sigaction(SIGUSR1, 0, &old);
        KT_TRUE(old.sa_handler == handler, "handler not inherited");
        _exit(0);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
    KT_TRUE(is_pending(SIGUSR1), "the parent lost its pending signal");
    reset(SIGUSR1);
}

/* restart_syscall(2) with no interrupted call to restart: Linux's
 * do_no_restart_syscall answers EINTR. */
KT_CASE(restart_syscall_without_a_restart_block_is_eintr) {
    KT_SYS_ERR(syscall(SYS_restart_syscall), EINTR);
}

KT_MAIN()
