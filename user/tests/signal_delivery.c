/* Signal delivery: SA_RESTART vs EINTR, nanosleep, sigsuspend,
 * sigtimedwait, siginfo contents (SI_USER, SI_QUEUE, SEGV_MAPERR,
 * SEGV_ACCERR, FPE_INTDIV), sigaltstack, alarm. */
#include "kt.h"

#include <fenv.h>
#include <pthread.h>
#include <setjmp.h>
#include <sys/time.h>
#include <ucontext.h>

static volatile sig_atomic_t hits;
static void count(int sig) {
    (void)sig;
    hits++;
}

static int catch(int sig, void (*fn)(int), int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    return sigaction(sig, &sa, 0);
}

/* SIGALRM after `ms` milliseconds (ITIMER_REAL). */
static int alarm_ms(long ms) {
    struct itimerval it = {{0, 0}, {ms / 1000, (ms % 1000) * 1000}};
    return setitimer(ITIMER_REAL, &it, 0);
}

/* A child that writes one byte to `fd` after `ms` milliseconds. */
static pid_t late_writer(int fd, long ms) {
    pid_t p = fork();
    if (p == 0) {
        kt_msleep(ms);
        write(fd, "x", 1);
        _exit(0);
    }
    return p;
}

KT_CASE(sa_restart_restarts_a_blocking_read) {
    int fds[2];
    KT_SYS_RET(pipe(fds), 0);
    KT_SYS_RET(catch(SIGALRM, count, SA_RESTART), 0);
    hits = 0;
    pid_t w = late_writer(fds[1], 300);
    KT_SYS_RET(alarm_ms(50), 0);
    char c = 0;
    KT_SYS_RET(read(fds[0], &c, 1), 1);
    KT_EQ(c, 'x');
    KT_EQ(hits, 1);
    KT_WAIT_STATUS(w, kt_exited(0));
    close(fds[0]);
    close(fds[1]);
    signal(SIGALRM, SIG_DFL);
}

KT_CASE(without_sa_restart_a_blocking_read_is_eintr) {
    int fds[2];
    KT_SYS_RET(pipe(fds), 0);
    KT_SYS_RET(catch(SIGALRM, count, 0), 0);
    hits = 0;
    KT_SYS_RET(alarm_ms(50), 0);
    char c;
    KT_SYS_ERR(read(fds[0], &c, 1), EINTR);
    KT_EQ(hits, 1);
    close(fds[0]);
    close(fds[1]);
    signal(SIGALRM, SIG_DFL);
}

KT_CASE(nanosleep_is_eintr_even_with_sa_restart) {
    KT_SYS_RET(catch(SIGALRM, count, SA_RESTART), 0);
    hits = 0;
    KT_SYS_RET(alarm_ms(50), 0);
    struct timespec ts = {5, 0}, rem = {0, 0};
    KT_SYS_ERR(nanosleep(&ts, &rem), EINTR);
    KT_EQ(hits, 1);
    KT_TRUE(rem.tv_sec > 0 && rem.tv_sec <= 5, "remaining %ld s", (long)rem.tv_sec);
    signal(SIGALRM, SIG_DFL);
}

KT_CASE(alarm_returns_the_seconds_left) {
    KT_EQ(alarm(100), 0);
    unsigned left = alarm(0);
    KT_TRUE(left == 100 || left == 99, "alarm(0) returned %u", left);
    KT_EQ(alarm(0), 0);
}

/* alarm's argument is an unsigned int (the register's upper half is not
 * looked at), so the longest alarm is 2^32-1 seconds, and asking again
 * gives that back rounded to the nearest second. */
KT_CASE(alarm_takes_an_unsigned_int) {
    KT_SYS_RET(syscall(SYS_alarm, ~0UL), 0);
    KT_SYS_RET(syscall(SYS_alarm, ~0UL), 4294967295L);
    KT_SYS_RET(syscall(SYS_alarm, 0), 4294967295L);
    KT_SYS_RET(syscall(SYS_alarm, 0), 0);
}

/* A timer value or interval past KTIME_MAX (2^63-1 ns, 9223372036.854775 s)
 * saturates there: the interval reads back as KTIME_MAX and the time left
 * as KTIME_MAX less the time since boot. */
KT_CASE(setitimer_beyond_ktime_max_saturates) {
    struct itimerval it = {{1L << 40, 0}, {1L << 40, 0}}, cur, zero = {{0, 0}, {0, 0}};
    KT_SYS_RET(setitimer(ITIMER_REAL, &it, 0), 0);
    KT_SYS_RET(getitimer(ITIMER_REAL, &cur), 0);
    KT_EQ(cur.it_interval.tv_sec, 9223372036L);
    KT_EQ(cur.it_interval.tv_usec, 854775);
    KT_TRUE(cur.it_value.tv_sec > 9223372036L - 100000 && cur.it_value.tv_sec <= 9223372036L,
            "time left %ld s", (long)cur.it_value.tv_sec);
    KT_SYS_RET(setitimer(ITIMER_REAL, &zero, &cur), 0);
    KT_TRUE(cur.it_value.tv_sec > 9223372036L - 100000 && cur.it_value.tv_sec <= 9223372036L,
            "time left %ld s", (long)cur.it_value.tv_sec);
    KT_SYS_RET(getitimer(ITIMER_REAL, &cur), 0);
    KT_EQ(cur.it_value.tv_sec, 0);
    KT_EQ(cur.it_value.tv_usec, 0);
}

KT_CASE(sigsuspend_runs_the_handler_and_restores_the_mask) {
    KT_SYS_RET(catch(SIGUSR1, count, 0), 0);
    sigset_t block, empty, cur;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigemptyset(&empty);
    KT_SYS_RET(sigprocmask(SIG_BLOCK, &block, 0), 0);
    hits = 0;
    KT_SYS_RET(raise(SIGUSR1), 0);
    KT_EQ(hits, 0);
    KT_SYS_ERR(sigsuspend(&empty), EINTR);
    KT_EQ(hits, 1);
    KT_SYS_RET(sigprocmask(SIG_BLOCK, 0, &cur), 0);
    KT_EQ(sigismember(&cur, SIGUSR1), 1);
    KT_SYS_RET(sigprocmask(SIG_UNBLOCK, &block, 0), 0);
    signal(SIGUSR1, SIG_DFL);
}

KT_CASE(sigtimedwait_takes_a_pending_signal_without_the_handler) {
    KT_SYS_RET(catch(SIGUSR2, count, 0), 0);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    KT_SYS_RET(sigprocmask(SIG_BLOCK, &set, 0), 0);
    hits = 0;
    KT_SYS_RET(kill(getpid(), SIGUSR2), 0);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    struct timespec zero = {0, 0};
    KT_SYS_RET(sigtimedwait(&set, &si, &zero), SIGUSR2);
    KT_EQ(si.si_signo, SIGUSR2);
    KT_EQ(si.si_code, SI_USER);
    KT_EQ(si.si_pid, getpid());
    KT_EQ(hits, 0);
    KT_SYS_ERR(sigtimedwait(&set, &si, &zero), EAGAIN);
    struct timespec short_wait = {0, 20 * 1000 * 1000};
    KT_SYS_ERR(sigtimedwait(&set, &si, &short_wait), EAGAIN);
    KT_SYS_RET(sigprocmask(SIG_UNBLOCK, &set, 0), 0);
    signal(SIGUSR2, SIG_DFL);
}

static siginfo_t got_info;
static void record(int sig, siginfo_t *si, void *uc) {
    (void)sig;
    (void)uc;
    got_info = *si;
}

static int catch_info(int sig, void (*fn)(int, siginfo_t *, void *), int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = fn;
    sa.sa_flags = SA_SIGINFO | flags;
    return sigaction(sig, &sa, 0);
}

KT_CASE(siginfo_of_kill_and_sigqueue) {
    KT_SYS_RET(catch_info(SIGUSR1, record, 0), 0);
    memset(&got_info, 0, sizeof got_info);
    KT_SYS_RET(kill(getpid(), SIGUSR1), 0);
    KT_EQ(got_info.si_signo, SIGUSR1);
    KT_EQ(got_info.si_code, SI_USER);
    KT_EQ(got_info.si_pid, getpid());
    KT_EQ(got_info.si_uid, getuid());
    memset(&got_info, 0, sizeof got_info);
    union sigval v = {.sival_int = 1234};
    KT_SYS_RET(sigqueue(getpid(), SIGUSR1, v), 0);
    KT_EQ(got_info.si_code, SI_QUEUE);
    KT_EQ(got_info.si_value.sival_int, 1234);
    KT_EQ(got_info.si_pid, getpid());
    signal(SIGUSR1, SIG_DFL);
}

static volatile int tq_tid, tq_go, tq_got, tq_val;

/* Waits (SIGUSR2 blocked, inherited) until told, then takes SIGUSR2. */
static void *tq_thread(void *arg) {
    (void)arg;
    tq_tid = (int)syscall(SYS_gettid);
    while (!__atomic_load_n(&tq_go, __ATOMIC_SEQ_CST)) kt_msleep(1);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR2);
    siginfo_t si;
    struct timespec ts = {2, 0};
    int r = sigtimedwait(&s, &si, &ts);
    tq_val = r == SIGUSR2 ? si.si_value.sival_int : -1;
    tq_got = r;
    return 0;
}

static siginfo_t queued_info(int sig, int code, int value) {
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = sig;
    si.si_code = code;
    si.si_pid = getpid();
    si.si_uid = getuid();
    si.si_value.sival_int = value;
    return si;
}

KT_CASE(tgsigqueueinfo_queues_to_one_thread) {
    sigset_t s, old, pend;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR2);
    sigprocmask(SIG_BLOCK, &s, &old);
    tq_tid = tq_go = tq_got = 0;
    pthread_t th;
    KT_EQ(pthread_create(&th, 0, tq_thread, 0), 0);
    while (!tq_tid) kt_msleep(1);
    siginfo_t si = queued_info(SIGUSR2, SI_QUEUE, 77);
    KT_SYS_ERR(syscall(SYS_rt_tgsigqueueinfo, getpid(), 0, SIGUSR2, &si), EINVAL);
    KT_SYS_ERR(syscall(SYS_rt_tgsigqueueinfo, 0, tq_tid, SIGUSR2, &si), EINVAL);
    KT_SYS_ERR(syscall(SYS_rt_tgsigqueueinfo, getpid() + 100000, tq_tid, SIGUSR2, &si), ESRCH);
    /* a code of 0 (SI_USER) only to the caller's own thread */
    siginfo_t user = queued_info(SIGUSR2, SI_USER, 1);
    KT_SYS_ERR(syscall(SYS_rt_tgsigqueueinfo, getpid(), tq_tid, SIGUSR2, &user), EPERM);
    KT_SYS_RET(syscall(SYS_rt_tgsigqueueinfo, getpid(), tq_tid, SIGUSR2, &si), 0);
    /* pending for that thread only, not for the process */
    sigpending(&pend);
    int main_sees = sigismember(&pend, SIGUSR2);
    __atomic_store_n(&tq_go, 1, __ATOMIC_SEQ_CST);
    pthread_join(th, 0);
    if (main_sees) {
        struct timespec zero = {0, 0};
        sigtimedwait(&s, 0, &zero);
    }
    sigprocmask(SIG_SETMASK, &old, 0);
    KT_EQ(main_sees, 0);
    KT_EQ(tq_got, SIGUSR2);
    KT_EQ(tq_val, 77);
}

KT_CASE(sigqueueinfo_to_another_user_is_eperm) {
    sigset_t s, old, pend;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR1);
    sigprocmask(SIG_BLOCK, &s, &old);
    pid_t p = KT_FORK();
    if (p == 0) {
        if (setuid(65534) != 0) _exit(3);
        siginfo_t si = queued_info(SIGUSR1, SI_QUEUE, 5);
        long r = syscall(SYS_rt_sigqueueinfo, getppid(), SIGUSR1, &si);
        _exit(r == -1 && errno == EPERM ? 0 : 1);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
    sigpending(&pend);
    int queued = sigismember(&pend, SIGUSR1);
    if (queued) {
        struct timespec zero = {0, 0};
        sigtimedwait(&s, 0, &zero);
    }
    sigprocmask(SIG_SETMASK, &old, 0);
    KT_EQ(queued, 0);
}

KT_CASE(tgkill_targets_a_thread_and_checks_the_group) {
    KT_SYS_RET(catch_info(SIGUSR1, record, 0), 0);
    memset(&got_info, 0, sizeof got_info);
    KT_SYS_RET(syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR1), 0);
    KT_EQ(got_info.si_code, SI_TKILL);
    KT_SYS_ERR(syscall(SYS_tgkill, getpid() + 100000, syscall(SYS_gettid), SIGUSR1), ESRCH);
    KT_SYS_ERR(syscall(SYS_tgkill, 0, syscall(SYS_gettid), SIGUSR1), EINVAL);
    KT_SYS_ERR(syscall(SYS_tkill, 0, SIGUSR1), EINVAL);
    signal(SIGUSR1, SIG_DFL);
}

static sigjmp_buf jump;
static void fault(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    got_info = *si;
    got_info.si_signo = sig;
    siglongjmp(jump, 1);
}

KT_CASE(sigsegv_siginfo_maperr_and_accerr) {
    KT_SYS_RET(catch_info(SIGSEGV, fault, SA_NODEFER), 0);
    volatile char *bad = (volatile char *)0x1000;
    memset(&got_info, 0, sizeof got_info);
    if (sigsetjmp(jump, 1) == 0) {
        *bad = 1;
        KT_TRUE(0, "writing to 0x1000 did not fault");
    }
    KT_EQ(got_info.si_signo, SIGSEGV);
    KT_EQ(got_info.si_code, SEGV_MAPERR);
    KT_EQ((uintptr_t)got_info.si_addr, 0x1000);

    char *ro = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KT_TRUE(ro != MAP_FAILED, "mmap: %s", kt_errname(errno));
    memset(&got_info, 0, sizeof got_info);
    if (sigsetjmp(jump, 1) == 0) {
        *(volatile char *)(ro + 8) = 1;
        KT_TRUE(0, "writing to a read-only page did not fault");
    }
    KT_EQ(got_info.si_code, SEGV_ACCERR);
    KT_EQ((uintptr_t)got_info.si_addr, (uintptr_t)(ro + 8));
    munmap(ro, 4096);
    signal(SIGSEGV, SIG_DFL);
}

KT_CASE(integer_division_by_zero_is_sigfpe_intdiv) {
    KT_SYS_RET(catch_info(SIGFPE, fault, SA_NODEFER), 0);
    volatile int zero = 0, x = 7;
    memset(&got_info, 0, sizeof got_info);
    if (sigsetjmp(jump, 1) == 0) {
        x = x / zero;
        KT_TRUE(0, "division by zero did not trap");
    }
    KT_EQ(got_info.si_signo, SIGFPE);
    KT_EQ(got_info.si_code, FPE_INTDIV);
    signal(SIGFPE, SIG_DFL);
}

static volatile uintptr_t handler_sp;
static volatile int handler_onstack;
static void on_alt(int sig) {
    (void)sig;
    volatile char here;
    handler_sp = (uintptr_t)&here;
    stack_t cur;
    sigaltstack(0, &cur);
    handler_onstack = (cur.ss_flags & SS_ONSTACK) != 0;
}

KT_CASE(sigaltstack_runs_sa_onstack_handlers_there) {
    static char alt[64 * 1024] __attribute__((aligned(16)));
    stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0}, old;
    KT_SYS_RET(sigaltstack(&ss, &old), 0);
    KT_EQ(old.ss_flags, SS_DISABLE);
    KT_SYS_RET(catch(SIGUSR1, on_alt, SA_ONSTACK), 0);
    handler_sp = 0;
    handler_onstack = 0;
    KT_SYS_RET(raise(SIGUSR1), 0);
    KT_TRUE(handler_sp >= (uintptr_t)alt && handler_sp < (uintptr_t)alt + sizeof alt,
            "handler stack %#lx outside the alternate stack", (unsigned long)handler_sp);
    KT_EQ(handler_onstack, 1);
    /* without SA_ONSTACK the normal stack is used */
    KT_SYS_RET(catch(SIGUSR1, on_alt, 0), 0);
    KT_SYS_RET(raise(SIGUSR1), 0);
    KT_TRUE(handler_sp < (uintptr_t)alt || handler_sp >= (uintptr_t)alt + sizeof alt,
            "handler ran on the alternate stack without SA_ONSTACK");
    KT_EQ(handler_onstack, 0);
    stack_t off = {.ss_flags = SS_DISABLE};
    KT_SYS_RET(sigaltstack(&off, 0), 0);
    signal(SIGUSR1, SIG_DFL);
}

KT_CASE(sigaltstack_errors) {
    static char small[1024];
    stack_t ss = {.ss_sp = small, .ss_size = 1024, .ss_flags = 0};
    KT_SYS_ERR(sigaltstack(&ss, 0), ENOMEM);
    ss.ss_size = 64 * 1024;
    ss.ss_flags = 0x10;
    KT_SYS_ERR(sigaltstack(&ss, 0), EINVAL);
}

/* ---- rt_sigreturn with a frame the handler rewrote ----------------------
 * The handler edits its ucontext as a hostile program would; the kernel
 * must never fault on the way back to user mode nor return to user mode
 * with a privileged state. Each case runs in a child and checks its
 * status: Linux kills with SIGSEGV when it cannot return to the frame's
 * state (an iret fault, an unreadable or invalid FPU image), and
 * sanitises what it can (eflags bits user mode may not set). */

enum { MUT_RIP_NONCANON, MUT_RIP_KERNEL, MUT_CS_KERNEL, MUT_CS_DATA, MUT_EFLAGS, MUT_FP_KERNEL,
       MUT_FP_NULL, MUT_RSP_NONCANON };
static volatile int mutation;

/* Where the non-canonical-stack case resumes: the first push faults. */
extern void kt_push_on_bad_stack(void);
__asm__(".text\n.globl kt_push_on_bad_stack\nkt_push_on_bad_stack:\n push %rax\n ud2\n");

static void mutate(int sig, siginfo_t *si, void *ucv) {
    (void)sig;
    (void)si;
    ucontext_t *uc = ucv;
    greg_t *g = uc->uc_mcontext.gregs;
    switch (mutation) {
    case MUT_RIP_NONCANON: g[REG_RIP] = (greg_t)0x8000000000000000ull; break;
    case MUT_RIP_KERNEL: g[REG_RIP] = (greg_t)0xffffffff81000000ull; break;
    /* cs is the low 16 bits of REG_CSGSFS */
    case MUT_CS_KERNEL: g[REG_CSGSFS] = (g[REG_CSGSFS] & ~0xffffll) | 0x10; break;
    case MUT_CS_DATA: g[REG_CSGSFS] = (g[REG_CSGSFS] & ~0xffffll) | 0x2b; break;
    /* IOPL 3, NT, VM, VIF, VIP */
    case MUT_EFLAGS: g[REG_EFL] |= 0x3000 | 0x4000 | 0x20000 | 0x80000 | 0x100000; break;
    case MUT_FP_KERNEL: uc->uc_mcontext.fpregs = (fpregset_t)0xffff888000000000ull; break;
    case MUT_FP_NULL: uc->uc_mcontext.fpregs = 0; break;
    case MUT_RSP_NONCANON:
        g[REG_RSP] = (greg_t)0x8000000000000000ull;
        g[REG_RIP] = (greg_t)(uintptr_t)kt_push_on_bad_stack;
        break;
    }
}

static unsigned read_mxcsr(void) {
    unsigned m;
    __asm__ volatile("stmxcsr %0" : "=m"(m));
    return m;
}

/* Runs mutation `m` in a child; returns its wait status. The child exits
 * 0 when it came back from the handler with a sane state, 1 otherwise. */
static int run_mutation(int m) {
    pid_t p = fork();
    if (p == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = mutate;
        sa.sa_flags = SA_SIGINFO;
        sigaction(SIGUSR1, &sa, 0);
        mutation = m;
        fesetround(FE_UPWARD);
        raise(SIGUSR1);
        unsigned long fl;
        __asm__ volatile("pushfq; popq %0" : "=r"(fl));
        if (m == MUT_EFLAGS)
            _exit((fl & 0x1f7000) == 0 && (fl & 0x200) ? 0 : 1);
        if (m == MUT_FP_NULL) /* no FPU image: the initial state (round to nearest) */
            _exit(read_mxcsr() == 0x1f80 ? 0 : 1);
        _exit(2);
    }
    int st = -1;
    waitpid(p, &st, 0);
    return st;
}

KT_CASE(sigreturn_to_a_noncanonical_or_kernel_rip_is_sigsegv) {
    KT_STATUS(run_mutation(MUT_RIP_NONCANON), kt_killed(SIGSEGV));
    KT_STATUS(run_mutation(MUT_RIP_KERNEL), kt_killed(SIGSEGV));
}

KT_CASE(sigreturn_with_a_bad_code_selector_is_sigsegv) {
    KT_STATUS(run_mutation(MUT_CS_KERNEL), kt_killed(SIGSEGV));
    KT_STATUS(run_mutation(MUT_CS_DATA), kt_killed(SIGSEGV));
}

KT_CASE(sigreturn_drops_privileged_eflags_bits) {
    KT_STATUS(run_mutation(MUT_EFLAGS), kt_exited(0));
}

KT_CASE(sigreturn_fpstate_in_kernel_space_is_sigsegv) {
    KT_STATUS(run_mutation(MUT_FP_KERNEL), kt_killed(SIGSEGV));
}

KT_CASE(sigreturn_without_fpstate_resets_the_fpu) {
    KT_STATUS(run_mutation(MUT_FP_NULL), kt_exited(0));
}

/* A stack access at a non-canonical address is #SS on hardware (SIGBUS,
 * as Linux's do_error_trap) and #GP under QEMU TCG (SIGSEGV): either way
 * the fault is the user's, after a clean return to user mode. */
static int killed_by_segv_or_bus(int st) {
    return WIFSIGNALED(st) && (WTERMSIG(st) == SIGSEGV || WTERMSIG(st) == SIGBUS);
}

KT_CASE(sigreturn_to_a_noncanonical_stack_faults_in_user_mode) {
    int st = run_mutation(MUT_RSP_NONCANON);
    KT_TRUE(killed_by_segv_or_bus(st), "status %s", kt_status_str(st));
}

KT_CASE(a_push_on_a_noncanonical_stack_faults) {
    pid_t p = KT_FORK();
    if (p == 0) {
        __asm__ volatile("movabs $0x8000000000000000, %%rsp\n push %%rax" ::: "memory");
        _exit(3);
    }
    int st = 0;
    KT_SYS_RET(waitpid(p, &st, 0), p);
    KT_TRUE(killed_by_segv_or_bus(st), "status %s", kt_status_str(st));
}

KT_CASE(a_signal_frame_on_an_unmapped_stack_kills_with_sigsegv) {
    pid_t p = KT_FORK();
    if (p == 0) {
        signal(SIGUSR1, count);
        char *bad = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        /* the frame would go below a read-only page's end */
        __asm__ volatile("mov %0, %%rsp\n syscall\n ud2" ::"r"(bad + 4096), "a"(62L), "D"((long)getpid()),
                         "S"(10L)
                         : "memory", "rcx", "r11");
        _exit(3);
    }
    KT_WAIT_STATUS(p, kt_killed(SIGSEGV));
}

static sigjmp_buf segv_jmp;
static volatile sig_atomic_t segv_seen, usr1_blocked_in_segv;
static void on_segv_jump(int sig) {
    (void)sig;
    sigset_t now;
    sigprocmask(SIG_BLOCK, 0, &now);
    usr1_blocked_in_segv = sigismember(&now, SIGUSR1);
    segv_seen = 1;
    siglongjmp(segv_jmp, 1);
}
static void on_usr1_noop(int sig) { (void)sig; }

KT_CASE(a_frame_that_cannot_be_written_raises_a_catchable_sigsegv) {
    pid_t p = KT_FORK();
    if (p == 0) {
        /* SIGUSR1 goes to a read-only alternate stack: its frame fails */
        void *ro = mmap(0, 65536, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (ro == MAP_FAILED) _exit(2);
        stack_t ss = {.ss_sp = ro, .ss_size = 65536, .ss_flags = 0};
        if (sigaltstack(&ss, 0) != 0) _exit(3);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_usr1_noop;
        sa.sa_flags = SA_ONSTACK;
        sigaction(SIGUSR1, &sa, 0);
        /* SIGSEGV's handler runs on the normal stack */
        sa.sa_handler = on_segv_jump;
        sa.sa_flags = 0;
        sigaction(SIGSEGV, &sa, 0);
        if (sigsetjmp(segv_jmp, 1) == 0) {
            raise(SIGUSR1);
            _exit(4);
        }
        /* the failed delivery did not apply SIGUSR1's mask */
        _exit(!segv_seen ? 5 : usr1_blocked_in_segv ? 6 : 0);
    }
    KT_WAIT_STATUS(p, kt_exited(0));
}

static volatile sig_atomic_t usr1_while_stopped;
static void on_usr1_stopped(int sig) {
    (void)sig;
    usr1_while_stopped = 1;
}

KT_CASE(a_signal_to_a_stopped_thread_waits_for_sigcont) {
    pid_t c = KT_FORK();
    if (c == 0) {
        signal(SIGUSR1, on_usr1_stopped);
        /* the raw call: musl's raise() would block every signal around it */
        syscall(SYS_kill, getpid(), SIGSTOP);
        _exit(usr1_while_stopped ? 0 : 4);
    }
    int st = 0;
    KT_SYS_RET(waitpid(c, &st, WUNTRACED), c);
    KT_TRUE(WIFSTOPPED(st), "status %#x", st);
    KT_SYS_RET(syscall(SYS_tgkill, c, c, SIGUSR1), 0);
    kt_msleep(50);
    /* still stopped: the handler waits for SIGCONT */
    KT_SYS_RET(waitpid(c, &st, WNOHANG), 0);
    KT_SYS_RET(kill(c, SIGCONT), 0);
    KT_WAIT_STATUS(c, kt_exited(0));
}

KT_MAIN()
