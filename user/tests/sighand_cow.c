/* Signal actions across fork, vfork and clone (Linux's sighand_struct):
 * without CLONE_SIGHAND the child's actions are its own (copy_sighand():
 * a sigaction on either side after the fork is not seen by the other,
 * also in a vfork child that shares the memory), CLONE_SIGHAND shares
 * them until one side execs (de_thread()'s unshare_sighand()), exec
 * resets caught signals to SIG_DFL and keeps ignored ones, SA_RESETHAND
 * resets only the side that took the signal.
 *
 * The vfork and CLONE_VM children change actions with the raw
 * rt_sigaction syscall (no libc state is touched in the shared memory). */
#include "kt.h"

struct ksigaction {
    unsigned long handler, flags, restorer, mask;
};

/* rt_sigaction(sig, {handler, no flags}) by the raw syscall. */
static long raw_set(int sig, unsigned long handler) {
    struct ksigaction ka = {handler, 0, 0, 0};
    return syscall(SYS_rt_sigaction, sig, &ka, 0, 8);
}

/* sig's current handler, as sigaction(2) reads it back. */
static void *handler_of(int sig) {
    struct sigaction old;
    memset(&old, 0, sizeof old);
    if (sigaction(sig, 0, &old) != 0) return (void *)-2;
    return (void *)old.sa_handler;
}

static volatile sig_atomic_t usr1_runs;
static void on_usr1(int sig) {
    (void)sig;
    usr1_runs++;
}

static int install(int sig, void (*fn)(int), int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    return sigaction(sig, &sa, 0);
}

KT_CASE(fork_child_sigaction_is_not_the_parents) {
    KT_SYS_RET(install(SIGUSR1, on_usr1, 0), 0);
    pid_t p = KT_FORK();
    if (p == 0) {
        /* inherited, then changed here only */
        if (handler_of(SIGUSR1) != (void *)on_usr1) _exit(1);
        if (install(SIGUSR1, SIG_IGN, 0) != 0) _exit(2);
        if (handler_of(SIGUSR1) != (void *)SIG_IGN) _exit(3);
        _exit(0);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
    KT_EQ((long)handler_of(SIGUSR1), (long)on_usr1);
    usr1_runs = 0;
    raise(SIGUSR1);
    KT_EQ(usr1_runs, 1);
    signal(SIGUSR1, SIG_DFL);
}

KT_CASE(parent_sigaction_after_fork_is_not_the_childs) {
    int go[2], back[2];
    KT_SYS_RET(pipe(go), 0);
    KT_SYS_RET(pipe(back), 0);
    KT_SYS_RET(install(SIGUSR1, on_usr1, 0), 0);
    pid_t p = KT_FORK();
    if (p == 0) {
        char c;
        if (read(go[0], &c, 1) != 1) _exit(9);
        int r = handler_of(SIGUSR1) == (void *)on_usr1 ? 0 : 1;
        r |= handler_of(SIGUSR2) == (void *)SIG_DFL ? 0 : 2;
        /* the child's own handler still runs */
        usr1_runs = 0;
        raise(SIGUSR1);
        r |= usr1_runs == 1 ? 0 : 4;
        _exit(r);
    }
    KT_SYS_RET(install(SIGUSR1, SIG_IGN, 0), 0);
    KT_SYS_RET(install(SIGUSR2, SIG_IGN, 0), 0);
    KT_SYS_RET(write(go[1], "g", 1), 1);
    KT_WAIT_STATUS(p, kt_exited(0));
    KT_EQ((long)handler_of(SIGUSR1), (long)SIG_IGN);
    close(go[0]);
    close(go[1]);
    close(back[0]);
    close(back[1]);
    signal(SIGUSR1, SIG_DFL);
    signal(SIGUSR2, SIG_DFL);
}

static volatile long vfork_child_ret;

KT_CASE(vfork_child_sigaction_then_exit_leaves_the_parent_alone) {
    KT_SYS_RET(install(SIGUSR1, on_usr1, 0), 0);
    vfork_child_ret = -1;
    pid_t p = vfork();
    if (p == 0) {
        vfork_child_ret = raw_set(SIGUSR1, (unsigned long)SIG_IGN);
        raw_set(SIGUSR2, (unsigned long)SIG_IGN);
        _exit(0);
    }
    KT_TRUE(p > 0, "vfork failed");
    KT_WAIT_STATUS(p, kt_exited(0));
    KT_EQ(vfork_child_ret, 0);
    KT_EQ((long)handler_of(SIGUSR1), (long)on_usr1);
    KT_EQ((long)handler_of(SIGUSR2), (long)SIG_DFL);
    usr1_runs = 0;
    raise(SIGUSR1);
    KT_EQ(usr1_runs, 1);
    signal(SIGUSR1, SIG_DFL);
}

KT_CASE(vfork_child_sigaction_before_exec) {
    /* The child ignores SIGUSR2 and execs: the new image sees SIGUSR1 reset
     * to SIG_DFL (it was caught) and SIGUSR2 ignored (kt-sigstate: 1 | 2);
     * the parent keeps its handler and SIGUSR2's default. */
    KT_SYS_RET(install(SIGUSR1, on_usr1, SA_RESTART), 0);
    pid_t p = vfork();
    if (p == 0) {
        raw_set(SIGUSR2, (unsigned long)SIG_IGN);
        char *argv[] = {(char *)kt_self, "kt-sigstate", 0};
        char *envp[] = {0};
        execve(kt_self, argv, envp);
        _exit(127);
    }
    KT_TRUE(p > 0, "vfork failed");
    KT_EQ((long)handler_of(SIGUSR1), (long)on_usr1);
    KT_EQ((long)handler_of(SIGUSR2), (long)SIG_DFL);
    KT_WAIT_STATUS(p, kt_exited(1 | 2));
    signal(SIGUSR1, SIG_DFL);
}

static char stack_mem[64 * 1024] __attribute__((aligned(16)));
static volatile long sighand_child_ret;

static int ignore_usr2(void *arg) {
    (void)arg;
    sighand_child_ret = raw_set(SIGUSR2, (unsigned long)SIG_IGN);
    return 0;
}

static int exec_sigstate(void *arg) {
    (void)arg;
    char *argv[] = {(char *)kt_self, "kt-sigstate", 0};
    char *envp[] = {0};
    execve(kt_self, argv, envp);
    return 127;
}

KT_CASE(clone_sighand_shares_until_exec) {
    KT_SYS_RET(install(SIGUSR1, on_usr1, 0), 0);
    /* CLONE_SIGHAND|CLONE_VM: the child's sigaction is the parent's */
    sighand_child_ret = -1;
    int t = clone(ignore_usr2, stack_mem + sizeof stack_mem, CLONE_VM | CLONE_SIGHAND | SIGCHLD, 0);
    KT_TRUE(t > 0, "clone: %s", kt_errname(errno));
    KT_WAIT_STATUS(t, kt_exited(0));
    KT_EQ(sighand_child_ret, 0);
    KT_EQ((long)handler_of(SIGUSR2), (long)SIG_IGN);
    /* ... until it execs: a table of its own, reset (SIGUSR1 caught ->
     * SIG_DFL, SIGUSR2 stays ignored), the parent's handler kept */
    t = clone(exec_sigstate, stack_mem + sizeof stack_mem, CLONE_VM | CLONE_SIGHAND | CLONE_VFORK | SIGCHLD, 0);
    KT_TRUE(t > 0, "clone: %s", kt_errname(errno));
    KT_EQ((long)handler_of(SIGUSR1), (long)on_usr1);
    KT_WAIT_STATUS(t, kt_exited(1 | 2));
    KT_EQ((long)handler_of(SIGUSR1), (long)on_usr1);
    KT_EQ((long)handler_of(SIGUSR2), (long)SIG_IGN);
    signal(SIGUSR1, SIG_DFL);
    signal(SIGUSR2, SIG_DFL);
}

KT_CASE(resethand_after_fork_resets_only_the_receiver) {
    KT_SYS_RET(install(SIGUSR1, on_usr1, SA_RESETHAND), 0);
    pid_t p = KT_FORK();
    if (p == 0) {
        usr1_runs = 0;
        raise(SIGUSR1);
        int r = usr1_runs == 1 ? 0 : 1;
        r |= handler_of(SIGUSR1) == (void *)SIG_DFL ? 0 : 2;
        _exit(r);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
    KT_EQ((long)handler_of(SIGUSR1), (long)on_usr1);
    usr1_runs = 0;
    raise(SIGUSR1);
    KT_EQ(usr1_runs, 1);
    KT_EQ((long)handler_of(SIGUSR1), (long)SIG_DFL);
}

KT_MAIN()
