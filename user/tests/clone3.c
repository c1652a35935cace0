/* clone3(2): the size versions (64, 80, 88 bytes; larger with a zero tail;
 * E2BIG otherwise), argument validation and CLONE_CLEAR_SIGHAND.
 *
 * Children are fork-like (no CLONE_VM, stack 0): they return 0 from the
 * raw syscall on a copy of the parent's stack and _exit at once. */
#include "kt.h"

static unsigned char buf[8192] __attribute__((aligned(16)));

static long clone3_raw(void *args, size_t size) {
    return syscall(SYS_clone3, args, size);
}

static struct kt_clone_args *fresh(void) {
    memset(buf, 0, sizeof buf);
    struct kt_clone_args *a = (struct kt_clone_args *)buf;
    a->exit_signal = SIGCHLD;
    return a;
}

/* clone3 with `size` must create a child that exits with `code`. */
#define CLONE3_WORKS(size, code)                                                          \
    do {                                                                                  \
        errno = 0;                                                                        \
        long r_ = clone3_raw(buf, (size));                                                \
        if (r_ == 0) _exit(code);                                                         \
        if (r_ < 0) {                                                                     \
            kt_fail("clone3(size %ld): %s [line %d]", (long)(size), kt_errname(errno),     \
                    __LINE__);                                                            \
            return;                                                                       \
        }                                                                                 \
        KT_WAIT_STATUS((pid_t)r_, kt_exited(code));                                       \
    } while (0)

/* clone3 with `size` must fail with `err`. */
#define CLONE3_REFUSED(size, err)                                                         \
    do {                                                                                  \
        errno = 0;                                                                        \
        long r_ = clone3_raw(buf, (size));                                                \
        if (r_ == 0) _exit(0);                                                            \
        int e_ = errno;                                                                   \
        if (r_ > 0) waitpid((pid_t)r_, 0, __WALL);                                        \
        if (r_ != -1 || e_ != (err)) {                                                    \
            kt_fail("clone3(size %ld): got %ld (%s), want -1 (%s) [line %d]", (long)(size), \
                    r_, r_ == -1 ? kt_errname(e_) : "a child", kt_errname(err), __LINE__);  \
            return;                                                                       \
        }                                                                                 \
    } while (0)

KT_CASE(size_below_64_is_einval) {
    fresh();
    CLONE3_REFUSED(0, EINVAL);
    CLONE3_REFUSED(32, EINVAL);
    CLONE3_REFUSED(63, EINVAL);
}

KT_CASE(sizes_64_80_88_work) {
    fresh();
    CLONE3_WORKS(KT_CLONE_ARGS_SIZE_VER0, 64 & 0x7f);
    CLONE3_WORKS(KT_CLONE_ARGS_SIZE_VER1, 80);
    CLONE3_WORKS(KT_CLONE_ARGS_SIZE_VER2, 88);
}

KT_CASE(larger_size_with_zero_tail_works) {
    fresh();
    CLONE3_WORKS(96, 96);
    CLONE3_WORKS(4096, 40);
}

KT_CASE(nonzero_tail_is_e2big) {
    fresh();
    buf[88] = 1;
    CLONE3_REFUSED(96, E2BIG);
    fresh();
    buf[4095] = 1;
    CLONE3_REFUSED(4096, E2BIG);
    CLONE3_WORKS(4095, 1); /* the non-zero byte is past the size */
}

KT_CASE(size_above_a_page_is_e2big) {
    fresh();
    CLONE3_REFUSED(4097, E2BIG);
    CLONE3_REFUSED(8192, E2BIG);
}

KT_CASE(bad_pointer_is_efault) {
    errno = 0;
    long r = clone3_raw((void *)16, 64);
    if (r == 0) _exit(0);
    KT_TRUE(r == -1 && errno == EFAULT, "got %ld (%s)", r, kt_errname(errno));
}

KT_CASE(exit_signal_must_be_a_valid_signal) {
    struct kt_clone_args *a = fresh();
    a->exit_signal = 65;
    CLONE3_REFUSED(64, EINVAL);
    a->exit_signal = 1ULL << 32 | SIGCHLD;
    CLONE3_REFUSED(64, EINVAL);
    a->exit_signal = 0; /* no signal at exit: fine, waited with __WALL */
    CLONE3_WORKS(64, 2);
}

KT_CASE(unknown_and_legacy_only_flags_are_einval) {
    struct kt_clone_args *a = fresh();
    a->flags = 1ULL << 40;
    CLONE3_REFUSED(64, EINVAL);
    a->flags = CLONE_DETACHED;
    CLONE3_REFUSED(64, EINVAL);
    a->flags = 0x11; /* CSIGNAL bits are not flags in clone3 */
    CLONE3_REFUSED(64, EINVAL);
}

KT_CASE(exit_signal_with_thread_or_parent_is_einval) {
    struct kt_clone_args *a = fresh();
    a->flags = CLONE_PARENT;
    CLONE3_REFUSED(64, EINVAL);
    a->flags = CLONE_THREAD | CLONE_SIGHAND | CLONE_VM;
    CLONE3_REFUSED(64, EINVAL);
}

KT_CASE(sighand_with_clear_sighand_is_einval) {
    struct kt_clone_args *a = fresh();
    a->flags = CLONE_SIGHAND | CLONE_VM | CLONE_CLEAR_SIGHAND;
    CLONE3_REFUSED(64, EINVAL);
}

KT_CASE(stack_and_stack_size_go_together) {
    struct kt_clone_args *a = fresh();
    a->stack = (uint64_t)(uintptr_t)(buf + 4096);
    a->stack_size = 0;
    CLONE3_REFUSED(64, EINVAL);
    a->stack = 0;
    a->stack_size = 4096;
    CLONE3_REFUSED(64, EINVAL);
}

KT_CASE(set_tid_size_rules) {
    struct kt_clone_args *a = fresh();
    a->set_tid_size = 1; /* without set_tid */
    CLONE3_REFUSED(88, EINVAL);
    a = fresh();
    static pid_t tids[40];
    a->set_tid = (uint64_t)(uintptr_t)tids;
    a->set_tid_size = 0; /* set_tid without a size */
    CLONE3_REFUSED(88, EINVAL);
    a->set_tid_size = 33; /* more levels than MAX_PID_NS_LEVEL */
    CLONE3_REFUSED(88, EINVAL);
}

KT_CASE(into_cgroup_needs_the_88_byte_version) {
    struct kt_clone_args *a = fresh();
    a->flags = CLONE_INTO_CGROUP;
    a->cgroup = 3;
    CLONE3_REFUSED(80, EINVAL);
}

static void on_usr1(int sig) { (void)sig; }

KT_CASE(clear_sighand_resets_handlers_but_keeps_ignored) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    KT_SYS_RET(sigaction(SIGUSR1, &sa, 0), 0);
    signal(SIGUSR2, SIG_IGN);
    struct kt_clone_args *a = fresh();
    a->flags = CLONE_CLEAR_SIGHAND;
    errno = 0;
    long r = clone3_raw(buf, 64);
    if (r == 0) {
        struct sigaction o1, o2;
        sigaction(SIGUSR1, 0, &o1);
        sigaction(SIGUSR2, 0, &o2);
        _exit((o1.sa_handler == SIG_DFL ? 1 : 0) | (o2.sa_handler == SIG_IGN ? 2 : 0));
    }
    KT_TRUE(r > 0, "clone3: %s", kt_errname(errno));
    KT_WAIT_STATUS((pid_t)r, kt_exited(3));
    signal(SIGUSR1, SIG_DFL);
    signal(SIGUSR2, SIG_DFL);
}

KT_CASE(child_tid_and_parent_tid_are_written) {
    static int ptid, ctid_slot;
    struct kt_clone_args *a = fresh();
    int *sh = kt_shared_page();
    KT_TRUE(sh != 0, "mmap: %s", kt_errname(errno));
    a->flags = CLONE_PARENT_SETTID | CLONE_CHILD_SETTID;
    a->parent_tid = (uint64_t)(uintptr_t)&ptid;
    a->child_tid = (uint64_t)(uintptr_t)&ctid_slot;
    ptid = ctid_slot = 0;
    long r = clone3_raw(buf, 64);
    if (r == 0) {
        sh[0] = ctid_slot;
        sh[1] = (int)syscall(SYS_gettid);
        _exit(0);
    }
    KT_TRUE(r > 0, "clone3: %s", kt_errname(errno));
    KT_WAIT_STATUS((pid_t)r, kt_exited(0));
    KT_EQ(ptid, r);
    KT_EQ(sh[1], r);
    KT_EQ(sh[0], r);
    munmap(sh, 4096);
}

KT_MAIN()
