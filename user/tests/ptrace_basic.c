/* ptrace(2): TRACEME and the stops, requests and their errnos, syscall
 * tracing, signal suppression and injection, detach and kill. */
#include "kt_ptrace.h"
#include <sys/ptrace.h>
#include <sys/user.h>

#define WSTATUS_EVENT(st) ((st) >> 16)

static volatile unsigned long long word = 0x1122334455667788ULL;
static volatile int flag;

static void on_usr(int sig) { flag = sig == SIGUSR1 ? 1 : 2; }

static void body_exit7(void) { _exit(7); }
static void body_nothing(void) {}
static void body_spin(void) {
    for (;;) pause();
}

KT_CASE(traceme_stop_reported_without_wuntraced) {
    pid_t c = kt_start_traced(body_exit7);
    if (c < 0) return;
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_WAIT_STATUS(c, kt_exited(7));
}

KT_CASE(traceme_twice_eperm) {
    pid_t c = fork();
    if (c == 0) {
        if (ptrace(PTRACE_TRACEME, 0, 0, 0) != 0) _exit(1);
        errno = 0;
        long r = ptrace(PTRACE_TRACEME, 0, 0, 0);
        _exit(r == -1 && errno == EPERM ? 0 : 2);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

KT_CASE(attach_self_eperm) { KT_SYS_ERR(ptrace(PTRACE_ATTACH, getpid(), 0, 0), EPERM); }

KT_CASE(attach_no_such_pid_esrch) {
    KT_SYS_ERR(ptrace(PTRACE_ATTACH, 0x3ffff0, 0, 0), ESRCH);
    KT_SYS_ERR(ptrace(PTRACE_ATTACH, -5, 0, 0), ESRCH);
    KT_SYS_ERR(ptrace(PTRACE_SEIZE, 0x3ffff0, 0, 0), ESRCH);
}

KT_CASE(request_on_untraced_child_esrch) {
    pid_t c = KT_FORK();
    if (c == 0) body_spin();
    errno = 0;
    long r = ptrace(PTRACE_CONT, c, 0, 0);
    int e = errno;
    long r2 = ptrace(PTRACE_GETREGS, c, 0, 0);
    int e2 = errno;
    kt_kill_reap(c);
    KT_EQ(r, -1);
    KT_EQ(e, ESRCH);
    KT_EQ(r2, -1);
    KT_EQ(e2, ESRCH);
}

KT_CASE(request_on_running_tracee_esrch) {
    pid_t c = kt_start_traced(body_spin);
    if (c < 0) return;
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    struct user_regs_struct r;
    errno = 0;
    long g = ptrace(PTRACE_GETREGS, c, 0, &r);
    int e = errno;
    kt_kill_reap(c);
    KT_EQ(g, -1);
    KT_EQ(e, ESRCH);
}

KT_CASE(unknown_request_eio) {
    pid_t c = kt_start_traced(body_nothing);
    if (c < 0) return;
    errno = 0;
    long r = ptrace(0x7777, c, 0, 0);
    int e = errno;
    kt_kill_reap(c);
    KT_EQ(r, -1);
    KT_EQ(e, EIO);
}

KT_CASE(peekdata_reads_the_tracee) {
    word = 0x1122334455667788ULL;
    pid_t c = kt_start_traced(body_nothing);
    if (c < 0) return;
    word = 0; /* the parent's copy only */
    errno = 0;
    long v = ptrace(PTRACE_PEEKDATA, c, (void *)&word, 0);
    int e = errno;
    long v2 = ptrace(PTRACE_PEEKTEXT, c, (void *)&word, 0);
    kt_kill_reap(c);
    KT_EQ(e, 0);
    KT_EQ((unsigned long)v, 0x1122334455667788ULL);
    KT_EQ((unsigned long)v2, 0x1122334455667788ULL);
}

static void body_exit_word(void) { _exit(word == 0xabcdULL ? 0 : 1); }

KT_CASE(pokedata_writes_the_tracee) {
    word = 1;
    pid_t c = kt_start_traced(body_exit_word);
    if (c < 0) return;
    KT_SYS_RET(ptrace(PTRACE_POKEDATA, c, (void *)&word, (void *)0xabcdUL), 0);
    KT_EQ(word, 1);
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_WAIT_STATUS(c, kt_exited(0));
}

KT_CASE(peek_poke_bad_address_eio) {
    pid_t c = kt_start_traced(body_nothing);
    if (c < 0) return;
    errno = 0;
    long r1 = ptrace(PTRACE_PEEKDATA, c, (void *)8, 0);
    int e1 = errno;
    long r2 = ptrace(PTRACE_POKEDATA, c, (void *)8, 0);
    int e2 = errno;
    long r3 = ptrace(PTRACE_PEEKTEXT, c, (void *)0xffff800000000000UL, 0);
    int e3 = errno;
    kt_kill_reap(c);
    KT_EQ(r1, -1);
    KT_EQ(e1, EIO);
    KT_EQ(r2, -1);
    KT_EQ(e2, EIO);
    KT_EQ(r3, -1);
    KT_EQ(e3, EIO);
}

KT_CASE(peekdata_bad_result_pointer_efault) {
    pid_t c = kt_start_traced(body_nothing);
    if (c < 0) return;
    errno = 0;
    long r = syscall(SYS_ptrace, PTRACE_PEEKDATA, c, (void *)&word, (void *)8);
    int e = errno;
    kt_kill_reap(c);
    KT_EQ(r, -1);
    KT_EQ(e, EFAULT);
}

KT_CASE(peekuser_bounds_eio) {
    pid_t c = kt_start_traced(body_nothing);
    if (c < 0) return;
    errno = 0;
    long r1 = ptrace(PTRACE_PEEKUSER, c, (void *)3, 0);
    int e1 = errno;
    long r2 = ptrace(PTRACE_PEEKUSER, c, (void *)928, 0); /* sizeof(struct user) */
    int e2 = errno;
    errno = 0;
    long r3 = ptrace(PTRACE_PEEKUSER, c, (void *)(848 + 7 * 8), 0); /* dr7 */
    int e3 = errno;
    long r4 = ptrace(PTRACE_POKEUSER, c, (void *)928, 0);
    int e4 = errno;
    kt_kill_reap(c);
    KT_EQ(r1, -1);
    KT_EQ(e1, EIO);
    KT_EQ(r2, -1);
    KT_EQ(e2, EIO);
    KT_EQ(r3, 0);
    KT_EQ(e3, 0);
    KT_EQ(r4, -1);
    KT_EQ(e4, EIO);
}

KT_CASE(getregs_at_a_signal_stop) {
    pid_t c = kt_start_traced(body_nothing);
    if (c < 0) return;
    struct user_regs_struct r;
    memset(&r, 0xee, sizeof r);
    long g = ptrace(PTRACE_GETREGS, c, 0, &r);
    errno = 0;
    long rip = ptrace(PTRACE_PEEKUSER, c, (void *)(16 * 8), 0);
    long orig = ptrace(PTRACE_PEEKUSER, c, (void *)(15 * 8), 0);
    kt_kill_reap(c);
    KT_EQ(g, 0);
    KT_EQ(r.orig_rax, SYS_kill);
    KT_EQ(r.rax, 0);
    KT_EQ(r.cs, 0x33);
    KT_EQ(r.ss, 0x2b);
    KT_EQ(r.rip, (unsigned long)rip);
    KT_EQ(orig, SYS_kill);
    KT_TRUE(r.rsp != 0 && r.rip != 0, "rsp %lx rip %lx", (unsigned long)r.rsp, (unsigned long)r.rip);
}

static void body_getppid_twice_exit(void) {
    syscall(SYS_getppid);
    syscall(SYS_getuid);
    syscall(SYS_close, -1);
    _exit(0);
}

KT_CASE(syscall_stops_in_order_with_tracesysgood) {
    pid_t c = kt_start_traced(body_getppid_twice_exit);
    if (c < 0) return;
    KT_SYS_RET(ptrace(PTRACE_SETOPTIONS, c, 0, PTRACE_O_TRACESYSGOOD), 0);
    long seq[16];
    long rets[16];
    int n = 0, nexit = 0, st = 0;
    for (;;) {
        KT_SYS_RET(ptrace(PTRACE_SYSCALL, c, 0, 0), 0);
        KT_SYS_RET(waitpid(c, &st, 0), c);
        if (!WIFSTOPPED(st)) break;
        KT_EQ(WSTOPSIG(st), SIGTRAP | 0x80);
        struct user_regs_struct r;
        KT_SYS_RET(ptrace(PTRACE_GETREGS, c, 0, &r), 0);
        unsigned long msg = 99;
        KT_SYS_RET(ptrace(PTRACE_GETEVENTMSG, c, 0, &msg), 0);
        if (msg == 1) {
            /* entry: rax is -ENOSYS until the call runs */
            KT_EQ((long)r.rax, -ENOSYS);
            if (n < 16) seq[n++] = r.orig_rax;
        } else {
            KT_EQ(msg, 2);
            if (nexit < 16) rets[nexit++] = r.rax;
        }
    }
    KT_STATUS(st, kt_exited(0));
    KT_EQ(n, 4);
    KT_EQ(seq[0], SYS_getppid);
    KT_EQ(seq[1], SYS_getuid);
    KT_EQ(seq[2], SYS_close);
    KT_EQ(seq[3], SYS_exit_group);
    KT_EQ(nexit, 3);
    KT_EQ(rets[0], getpid());
    KT_EQ(rets[1], getuid());
    KT_EQ(rets[2], -EBADF);
}

KT_CASE(syscall_stop_without_tracesysgood_is_sigtrap) {
    pid_t c = kt_start_traced(body_getppid_twice_exit);
    if (c < 0) return;
    int st = 0;
    KT_SYS_RET(ptrace(PTRACE_SYSCALL, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_STATUS(st, kt_stopped(SIGTRAP));
    siginfo_t si;
    memset(&si, 0, sizeof si);
    KT_SYS_RET(ptrace(PTRACE_GETSIGINFO, c, 0, &si), 0);
    KT_EQ(si.si_signo, SIGTRAP);
    KT_EQ(si.si_code, SIGTRAP);
    KT_EQ(si.si_pid, c);
    kt_kill_reap(c);
}

static void body_getpid_result(void) { _exit(syscall(SYS_getpid) == 4242 ? 0 : 1); }

KT_CASE(setregs_changes_a_syscall_result) {
    pid_t c = kt_start_traced(body_getpid_result);
    if (c < 0) return;
    int st;
    struct user_regs_struct r;
    for (int i = 0; i < 2; i++) { /* entry, then exit of getpid */
        KT_SYS_RET(ptrace(PTRACE_SYSCALL, c, 0, 0), 0);
        KT_SYS_RET(waitpid(c, &st, 0), c);
        KT_STATUS(st, kt_stopped(SIGTRAP));
    }
    KT_SYS_RET(ptrace(PTRACE_GETREGS, c, 0, &r), 0);
    KT_EQ(r.orig_rax, SYS_getpid);
    KT_EQ(r.rax, c);
    r.rax = 4242;
    KT_SYS_RET(ptrace(PTRACE_SETREGS, c, 0, &r), 0);
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_WAIT_STATUS(c, kt_exited(0));
}

static void body_getppid_skipped(void) { _exit(syscall(SYS_getppid) == 77 ? 0 : 1); }

KT_CASE(orig_rax_minus_one_skips_the_call) {
    pid_t c = kt_start_traced(body_getppid_skipped);
    if (c < 0) return;
    int st;
    KT_SYS_RET(ptrace(PTRACE_SYSCALL, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_STATUS(st, kt_stopped(SIGTRAP));
    KT_SYS_RET(ptrace(PTRACE_POKEUSER, c, (void *)(15 * 8), (void *)-1L), 0);
    KT_SYS_RET(ptrace(PTRACE_POKEUSER, c, (void *)(10 * 8), (void *)77L), 0);
    KT_SYS_RET(ptrace(PTRACE_SYSCALL, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_STATUS(st, kt_stopped(SIGTRAP));
    KT_EQ(ptrace(PTRACE_PEEKUSER, c, (void *)(10 * 8), 0), 77);
    KT_EQ(ptrace(PTRACE_PEEKUSER, c, (void *)(15 * 8), 0), -1);
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_WAIT_STATUS(c, kt_exited(0));
}

struct syscall_info {
    unsigned char op;
    unsigned char pad[3];
    unsigned int arch;
    unsigned long long ip, sp;
    union {
        struct {
            unsigned long long nr, args[6];
        } entry;
        struct {
            long long rval;
            unsigned char is_error;
        } exit;
    };
};

static void body_close_bad(void) {
    syscall(SYS_close, 12345);
    syscall(SYS_close, 12345);
    _exit(0);
}

KT_CASE(get_syscall_info_entry_exit_none) {
    pid_t c = kt_start_traced(body_close_bad);
    if (c < 0) return;
    struct syscall_info si;
    int st;
    memset(&si, 0xff, sizeof si);
    KT_SYS_RET(ptrace(PTRACE_GET_SYSCALL_INFO, c, (void *)sizeof si, &si), 24);
    KT_EQ(si.op, 0);
    KT_EQ(si.arch, 0xc000003e);
    KT_SYS_RET(ptrace(PTRACE_SYSCALL, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_STATUS(st, kt_stopped(SIGTRAP));
    /* without TRACESYSGOOD a syscall stop is not told apart */
    KT_SYS_RET(ptrace(PTRACE_GET_SYSCALL_INFO, c, (void *)sizeof si, &si), 24);
    KT_EQ(si.op, 0);
    KT_SYS_RET(ptrace(PTRACE_SETOPTIONS, c, 0, PTRACE_O_TRACESYSGOOD), 0);
    KT_SYS_RET(ptrace(PTRACE_POKEUSER, c, (void *)(15 * 8), (void *)-1L), 0);
    KT_SYS_RET(ptrace(PTRACE_SYSCALL, c, 0, 0), 0); /* the skipped call's exit */
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_SYS_RET(ptrace(PTRACE_SYSCALL, c, 0, 0), 0); /* close again, from the top */
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_STATUS(st, kt_stopped(SIGTRAP | 0x80));
    KT_SYS_RET(ptrace(PTRACE_GET_SYSCALL_INFO, c, (void *)sizeof si, &si), 80);
    KT_EQ(si.op, 1);
    KT_EQ(si.entry.nr, SYS_close);
    KT_EQ(si.entry.args[0], 12345);
    KT_SYS_RET(ptrace(PTRACE_SYSCALL, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_SYS_RET(ptrace(PTRACE_GET_SYSCALL_INFO, c, (void *)sizeof si, &si), 33);
    KT_EQ(si.op, 2);
    KT_EQ(si.exit.rval, -EBADF);
    KT_EQ(si.exit.is_error, 1);
    /* a short buffer gets the first bytes, the size is the whole */
    unsigned char small[4] = {9, 9, 9, 9};
    KT_SYS_RET(ptrace(PTRACE_GET_SYSCALL_INFO, c, (void *)2, small), 33);
    KT_EQ(small[0], 2);
    KT_EQ(small[2], 9);
    kt_kill_reap(c);
}

static void body_usr1_then_flag(void) {
    flag = 0;
    signal(SIGUSR1, on_usr);
    signal(SIGUSR2, on_usr);
    syscall(SYS_kill, syscall(SYS_getpid), SIGUSR1);
    _exit(flag);
}

KT_CASE(signal_suppressed_by_the_tracer) {
    pid_t c = kt_start_traced(body_usr1_then_flag);
    if (c < 0) return;
    int st;
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_STATUS(st, kt_stopped(SIGUSR1));
    siginfo_t si;
    KT_SYS_RET(ptrace(PTRACE_GETSIGINFO, c, 0, &si), 0);
    KT_EQ(si.si_signo, SIGUSR1);
    KT_EQ(si.si_code, SI_USER);
    KT_EQ(si.si_pid, c);
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_WAIT_STATUS(c, kt_exited(0));
}

KT_CASE(signal_replaced_by_the_tracer) {
    pid_t c = kt_start_traced(body_usr1_then_flag);
    if (c < 0) return;
    int st;
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_STATUS(st, kt_stopped(SIGUSR1));
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, SIGUSR2), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_STATUS(st, kt_exited(2));
}

KT_CASE(signal_delivered_as_is) {
    pid_t c = kt_start_traced(body_usr1_then_flag);
    if (c < 0) return;
    int st;
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_STATUS(st, kt_stopped(SIGUSR1));
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, SIGUSR1), 0);
    KT_WAIT_STATUS(c, kt_exited(1));
}

KT_CASE(resume_with_invalid_signal_eio) {
    pid_t c = kt_start_traced(body_nothing);
    if (c < 0) return;
    errno = 0;
    long r1 = ptrace(PTRACE_CONT, c, 0, 65);
    int e1 = errno;
    long r2 = ptrace(PTRACE_DETACH, c, 0, 1000);
    int e2 = errno;
    long r3 = ptrace(PTRACE_SETOPTIONS, c, 0, 0x400);
    int e3 = errno;
    kt_kill_reap(c);
    KT_EQ(r1, -1);
    KT_EQ(e1, EIO);
    KT_EQ(r2, -1);
    KT_EQ(e2, EIO);
    KT_EQ(r3, -1);
    KT_EQ(e3, EINVAL);
}

KT_CASE(ptrace_kill_kills_the_tracee) {
    pid_t c = kt_start_traced(body_nothing);
    if (c < 0) return;
    KT_SYS_RET(ptrace(PTRACE_KILL, c, 0, 0), 0);
    KT_WAIT_STATUS(c, kt_killed(SIGKILL));
}

static void body_exit5(void) { _exit(5); }

KT_CASE(detach_lets_it_run) {
    pid_t c = kt_start_traced(body_exit5);
    if (c < 0) return;
    KT_SYS_RET(ptrace(PTRACE_DETACH, c, 0, 0), 0);
    /* no longer traced: requests fail */
    KT_WAIT_STATUS(c, kt_exited(5));
}

static void body_usr1_handler_exit3(void) {
    flag = 0;
    signal(SIGUSR1, on_usr);
    while (!flag) syscall(SYS_sched_yield);
    _exit(3);
}

KT_CASE(detach_with_a_signal) {
    pid_t c = kt_start_traced(body_usr1_handler_exit3);
    if (c < 0) return;
    int st;
    /* stop again at the first syscall after the handler is installed */
    KT_SYS_RET(ptrace(PTRACE_SYSCALL, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_SYS_RET(ptrace(PTRACE_SYSCALL, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_SYS_RET(ptrace(PTRACE_SYSCALL, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_SYS_RET(ptrace(PTRACE_SYSCALL, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_SYS_RET(ptrace(PTRACE_DETACH, c, 0, SIGUSR1), 0);
    KT_SYS_ERR(ptrace(PTRACE_CONT, c, 0, 0), ESRCH);
    KT_WAIT_STATUS(c, kt_exited(3));
}

KT_CASE(exec_sends_sigtrap) {
    pid_t c = fork();
    if (c == 0) {
        if (ptrace(PTRACE_TRACEME, 0, 0, 0) != 0) _exit(100);
        execl(kt_self, kt_self, "kt-exit", "4", (char *)0);
        _exit(101);
    }
    int st;
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_STATUS(st, kt_stopped(SIGTRAP));
    siginfo_t si;
    KT_SYS_RET(ptrace(PTRACE_GETSIGINFO, c, 0, &si), 0);
    KT_EQ(si.si_code, SI_USER);
    KT_EQ(si.si_pid, c);
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_WAIT_STATUS(c, kt_exited(4));
}

KT_CASE(waitid_reports_cld_trapped) {
    pid_t c = kt_start_traced(body_exit7);
    if (c < 0) return;
    KT_SYS_RET(ptrace(PTRACE_SYSCALL, c, 0, 0), 0);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    KT_SYS_RET(waitid(P_PID, c, &si, WEXITED | WSTOPPED | WNOWAIT), 0);
    KT_EQ(si.si_code, CLD_TRAPPED);
    KT_EQ(si.si_status, SIGTRAP);
    KT_EQ(si.si_pid, c);
    int st;
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_STATUS(st, kt_stopped(SIGTRAP));
    KT_SYS_RET(waitpid(c, &st, WNOHANG), 0);
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_WAIT_STATUS(c, kt_exited(7));
}

static volatile int chld_code, chld_status, chld_pid;
static void on_chld(int sig, siginfo_t *si, void *u) {
    (void)sig;
    (void)u;
    chld_code = si->si_code;
    chld_status = si->si_status;
    chld_pid = si->si_pid;
}

KT_CASE(sigchld_cld_trapped_to_the_tracer) {
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_chld;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGCHLD, &sa, &old);
    chld_code = 0;
    pid_t c = kt_start_traced(body_exit7);
    if (c < 0) {
        sigaction(SIGCHLD, &old, 0);
        return;
    }
    int code = chld_code, status = chld_status, pid = chld_pid;
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    int st;
    waitpid(c, &st, 0);
    sigaction(SIGCHLD, &old, 0);
    KT_EQ(code, CLD_TRAPPED);
    KT_EQ(status, SIGSTOP);
    KT_EQ(pid, c);
    KT_STATUS(st, kt_exited(7));
}

KT_CASE(traced_child_running_wnohang_zero) {
    pid_t c = kt_start_traced(body_spin);
    if (c < 0) return;
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    int st;
    long r = waitpid(c, &st, WNOHANG);
    kt_kill_reap(c);
    KT_EQ(r, 0);
}

KT_MAIN()
