/* clone(2): flag combinations Linux refuses, and what each sharing flag
 * shares (CLONE_VM, CLONE_FILES, CLONE_FS, CLONE_SIGHAND, CLONE_THREAD),
 * CLONE_PARENT, CLONE_VFORK, exit signals and __WCLONE, the tid flags.
 *
 * Refused combinations use the raw syscall (they fail before any child
 * exists). Children that share memory run on their own stack through
 * musl's clone(); no case uses CLONE_SETTLS, so a child reads its stack
 * canary through the parent's TLS. */
#include "kt.h"

#define STACK_SIZE (64 * 1024)

static long raw_clone(unsigned long flags, void *stack, int *ptid, int *ctid, unsigned long tls) {
    return syscall(SYS_clone, flags, stack, ptid, ctid, tls);
}

/* A raw clone that must fail with `err`; if it created a child anyway
 * (fork-like, stack 0), the child exits at once and is reaped. */
#define CLONE_REFUSED(flags, err)                                                         \
    do {                                                                                  \
        errno = 0;                                                                        \
        long r_ = raw_clone((flags), 0, 0, 0, 0);                                         \
        if (r_ == 0) _exit(0);                                                            \
        int e_ = errno;                                                                   \
        if (r_ > 0) waitpid((pid_t)r_, 0, __WALL);                                        \
        if (r_ != -1 || e_ != (err)) {                                                    \
            kt_fail("clone(%s): got %ld (%s), want -1 (%s)", #flags, r_,                  \
                    r_ == -1 ? kt_errname(e_) : "a child", kt_errname(err));              \
            return;                                                                       \
        }                                                                                 \
    } while (0)

static char stack_mem[4][STACK_SIZE] __attribute__((aligned(16)));
static void *stack_top(int i) { return stack_mem[i] + STACK_SIZE; }

/* Starts fn(arg) with clone(); returns the child's tid. */
#define START(fn, flags, arg, ...)                                                        \
    ({                                                                                    \
        int t_ = clone((fn), stack_top(0), (flags), (arg), ##__VA_ARGS__);                \
        if (t_ == -1) {                                                                   \
            kt_fail("clone(%s): %s", #flags, kt_errname(errno));                          \
            return;                                                                       \
        }                                                                                 \
        t_;                                                                               \
    })

KT_CASE(sighand_without_vm_is_einval) {
    CLONE_REFUSED(CLONE_SIGHAND | SIGCHLD, EINVAL);
}

KT_CASE(thread_without_sighand_is_einval) {
    CLONE_REFUSED(CLONE_THREAD | CLONE_VM, EINVAL);
}

KT_CASE(fs_with_newns_is_einval) {
    CLONE_REFUSED(CLONE_FS | CLONE_NEWNS | SIGCHLD, EINVAL);
}

KT_CASE(newuser_with_fs_is_einval) {
    CLONE_REFUSED(CLONE_NEWUSER | CLONE_FS | SIGCHLD, EINVAL);
}

/* (Linux 6.1 allows CLONE_NEWPID | CLONE_PARENT; only the thread
 * combinations are refused.) */
KT_CASE(newpid_or_newuser_with_thread_is_einval) {
    CLONE_REFUSED(CLONE_NEWPID | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM, EINVAL);
    CLONE_REFUSED(CLONE_NEWUSER | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM, EINVAL);
}

KT_CASE(pidfd_with_parent_settid_is_einval) {
    int slot = 0;
    errno = 0;
    long r = raw_clone(CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD, 0, &slot, 0, 0);
    if (r == 0) _exit(0);
    int e = errno;
    if (r > 0) waitpid((pid_t)r, 0, 0);
    KT_TRUE(r == -1 && e == EINVAL, "got %ld (%s)", r, r == -1 ? kt_errname(e) : "a child");
}

KT_CASE(pidfd_with_thread_or_detached_is_einval) {
    CLONE_REFUSED(CLONE_PIDFD | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM, EINVAL);
    CLONE_REFUSED(CLONE_PIDFD | CLONE_DETACHED | SIGCHLD, EINVAL);
}

static volatile int shared_word;

static int set_word(void *arg) {
    shared_word = (int)(intptr_t)arg;
    return 0;
}

KT_CASE(clone_vm_shares_memory_and_fork_like_clone_copies_it) {
    shared_word = 1;
    int t = START(set_word, CLONE_VM | SIGCHLD, (void *)(intptr_t)2);
    KT_WAIT_STATUS(t, kt_exited(0));
    KT_EQ(shared_word, 2);
    t = START(set_word, SIGCHLD, (void *)(intptr_t)3);
    KT_WAIT_STATUS(t, kt_exited(0));
    KT_EQ(shared_word, 2);
}

static int close_fd(void *arg) {
    return close((int)(intptr_t)arg) == 0 ? 0 : 1;
}

KT_CASE(clone_files_shares_the_fd_table) {
    KT_SYS_RET(dup2(1, 40), 40);
    int t = START(close_fd, CLONE_FILES | SIGCHLD, (void *)40);
    KT_WAIT_STATUS(t, kt_exited(0));
    KT_SYS_ERR(fcntl(40, F_GETFD), EBADF);
    KT_SYS_RET(dup2(1, 41), 41);
    t = START(close_fd, SIGCHLD, (void *)41);
    KT_WAIT_STATUS(t, kt_exited(0));
    KT_EQ(fcntl(41, F_GETFD), 0);
    close(41);
}

static int change_fs(void *arg) {
    (void)arg;
    umask(0077);
    return chdir("/tmp") == 0 ? 0 : 1;
}

static int cwd_is(const char *want) {
    char buf[256];
    return getcwd(buf, sizeof buf) && strcmp(buf, want) == 0;
}

KT_CASE(clone_fs_shares_cwd_and_umask) {
    KT_SYS_RET(chdir("/"), 0);
    umask(0022);
    int t = START(change_fs, SIGCHLD, 0);
    KT_WAIT_STATUS(t, kt_exited(0));
    KT_TRUE(cwd_is("/"), "cwd changed by a child without CLONE_FS");
    KT_EQ(umask(0022), 0022);
    t = START(change_fs, CLONE_FS | SIGCHLD, 0);
    KT_WAIT_STATUS(t, kt_exited(0));
    KT_TRUE(cwd_is("/tmp"), "cwd not shared under CLONE_FS");
    KT_EQ(umask(0022), 0077);
    KT_SYS_RET(chdir("/"), 0);
}

static void on_usr1(int sig) { (void)sig; }

static int install_handler(void *arg) {
    (void)arg;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    return sigaction(SIGUSR1, &sa, 0) == 0 ? 0 : 1;
}

static int usr1_handled(void) {
    struct sigaction old;
    sigaction(SIGUSR1, 0, &old);
    return old.sa_handler == on_usr1;
}

KT_CASE(clone_sighand_shares_the_handlers) {
    signal(SIGUSR1, SIG_DFL);
    int t = START(install_handler, CLONE_VM | SIGCHLD, 0);
    KT_WAIT_STATUS(t, kt_exited(0));
    KT_EQ(usr1_handled(), 0);
    t = START(install_handler, CLONE_VM | CLONE_SIGHAND | SIGCHLD, 0);
    KT_WAIT_STATUS(t, kt_exited(0));
    KT_EQ(usr1_handled(), 1);
    signal(SIGUSR1, SIG_DFL);
}

static volatile int thread_pid, thread_tid;

static int report_ids(void *arg) {
    (void)arg;
    thread_pid = (int)syscall(SYS_getpid);
    thread_tid = (int)syscall(SYS_gettid);
    return 0;
}

/* Waits until the kernel clears *ctid (CLONE_CHILD_CLEARTID) */
static int wait_cleared(volatile int *ctid) {
    for (int i = 0; i < 2000 && *ctid != 0; i++) {
        int v = *ctid;
        if (v == 0) break;
        struct timespec ts = {0, 10 * 1000 * 1000};
        kt_futex(ctid, FUTEX_WAIT, v, &ts);
    }
    return *ctid == 0;
}

KT_CASE(clone_thread_same_pid_new_tid_and_cleartid_wakes) {
    static volatile int ctid;
    ctid = -1;
    thread_pid = thread_tid = 0;
    int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
                CLONE_CHILD_CLEARTID | CLONE_CHILD_SETTID;
    int t = START(report_ids, flags, 0, 0, 0, (int *)&ctid);
    KT_TRUE(wait_cleared(&ctid), "ctid never cleared (still %d)", ctid);
    KT_EQ(thread_pid, getpid());
    KT_EQ(thread_tid, t);
    KT_NE(t, getpid());
    int st;
    KT_SYS_ERR(waitpid(t, &st, __WALL | WNOHANG), ECHILD); /* threads are not waited for */
}

KT_CASE(clone_parent_settid_writes_the_tid_in_the_parent) {
    int ptid = 0;
    int t = START(set_word, CLONE_VM | CLONE_PARENT_SETTID | SIGCHLD, 0, &ptid);
    KT_EQ(ptid, t);
    KT_WAIT_STATUS(t, kt_exited(0));
}

static int *shared_page;

static int report_ppid(void *arg) {
    (void)arg;
    shared_page[0] = (int)getppid();
    return 0;
}

KT_CASE(clone_parent_makes_a_sibling) {
    shared_page = kt_shared_page();
    KT_TRUE(shared_page != 0, "mmap: %s", kt_errname(errno));
    shared_page[0] = 0;
    int t = START(report_ppid, CLONE_PARENT | CLONE_VFORK, 0);
    KT_EQ(shared_page[0], getppid());
    int st;
    KT_SYS_ERR(waitpid(t, &st, __WALL), ECHILD); /* our parent reaps it */
    munmap(shared_page, 4096);
}

static int slow_then_set(void *arg) {
    kt_msleep(200);
    shared_word = (int)(intptr_t)arg;
    return 0;
}

KT_CASE(clone_vfork_suspends_the_parent_until_the_child_exits) {
    shared_word = 0;
    int t = START(slow_then_set, CLONE_VM | CLONE_VFORK | SIGCHLD, (void *)(intptr_t)7);
    KT_EQ(shared_word, 7);
    KT_WAIT_STATUS(t, kt_exited(0));
}

static volatile sig_atomic_t usr2_seen;
static void on_usr2(int sig) {
    (void)sig;
    usr2_seen = 1;
}

KT_CASE(custom_exit_signal_needs_wclone) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr2;
    KT_SYS_RET(sigaction(SIGUSR2, &sa, 0), 0);
    usr2_seen = 0;
    int t = START(set_word, SIGUSR2, 0);
    for (int i = 0; i < 500 && !usr2_seen; i++) kt_msleep(10);
    KT_EQ(usr2_seen, 1);
    int st;
    KT_SYS_ERR(waitpid(t, &st, 0), ECHILD); /* not a "SIGCHLD child" */
    KT_SYS_RET(waitpid(t, &st, __WCLONE), t);
    KT_EQ(st, kt_exited(0));
    signal(SIGUSR2, SIG_DFL);
}

KT_CASE(wclone_does_not_see_sigchld_children_and_wall_sees_both) {
    pid_t p = KT_FORK();
    if (p == 0) _exit(6);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    KT_SYS_RET(waitid(P_PID, p, &si, WEXITED | WNOWAIT), 0);
    int st;
    KT_SYS_ERR(waitpid(p, &st, __WCLONE), ECHILD);
    int t = START(set_word, 0, 0); /* exit signal 0: a clone child too */
    KT_SYS_RET(waitpid(t, &st, __WALL), t);
    KT_SYS_RET(waitpid(p, &st, __WALL), p);
    KT_EQ(st, kt_exited(6));
}

KT_MAIN()
