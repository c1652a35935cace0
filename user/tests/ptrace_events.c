/* ptrace(2): breakpoints (int3, POKETEXT on private text), single-step,
 * FP registers and regsets, and the event stops (fork, vfork, clone, exec,
 * exit) with auto-attached children. */
#include "kt_ptrace.h"
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>

#define NT_PRSTATUS 1
#define NT_PRFPREG 2

static void body_nothing(void) {}

/* Continues `c` through its stops, suppressing their signals (a traced
 * parent gets SIGCHLD and exit signals as stops too); its final status. */
static int finish(pid_t c) {
    int st = 0;
    for (int i = 0; i < 50; i++) {
        if (waitpid(c, &st, __WALL) != c) return -1;
        if (!WIFSTOPPED(st)) return st;
        ptrace(PTRACE_CONT, c, 0, 0);
    }
    return -2;
}

/* ---- breakpoints ---- */

static void body_int3(void) {
    __asm__ volatile("int3");
    _exit(0);
}

KT_CASE(int3_stops_with_sigtrap) {
    pid_t c = kt_start_traced(body_int3);
    if (c < 0) return;
    int st;
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_STATUS(st, kt_stopped(SIGTRAP));
    siginfo_t si;
    KT_SYS_RET(ptrace(PTRACE_GETSIGINFO, c, 0, &si), 0);
    KT_EQ(si.si_signo, SIGTRAP);
    KT_EQ(si.si_code, 0x80); /* SI_KERNEL */
    struct user_regs_struct r;
    KT_SYS_RET(ptrace(PTRACE_GETREGS, c, 0, &r), 0);
    /* rip is past the int3 (0xcc) */
    errno = 0;
    long w = ptrace(PTRACE_PEEKTEXT, c, (void *)(r.rip - 1), 0);
    KT_EQ(errno, 0);
    KT_EQ(w & 0xff, 0xcc);
    KT_EQ((long)r.orig_rax, -1);
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_WAIT_STATUS(c, kt_exited(0));
}

KT_CASE(int3_untraced_kills_with_sigtrap) {
    pid_t c = KT_FORK();
    if (c == 0) {
        __asm__ volatile("int3");
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_killed(SIGTRAP));
}

__attribute__((noinline)) static int target_fn(int x) {
    __asm__ volatile("" ::: "memory");
    return x * 3 + 1;
}

static void body_call_target(void) { _exit(target_fn(4)); }

KT_CASE(poketext_breakpoint_on_a_function) {
    pid_t c = kt_start_traced(body_call_target);
    if (c < 0) return;
    unsigned long addr = (unsigned long)&target_fn;
    errno = 0;
    long orig = ptrace(PTRACE_PEEKTEXT, c, (void *)addr, 0);
    KT_EQ(errno, 0);
    long mine = *(volatile long *)addr;
    KT_EQ(orig, mine);
    long patched = (orig & ~0xffL) | 0xcc;
    KT_SYS_RET(ptrace(PTRACE_POKETEXT, c, (void *)addr, (void *)patched), 0);
    /* our own text is untouched (the child's page is its own copy) */
    KT_EQ(*(volatile long *)addr, orig);
    KT_EQ(ptrace(PTRACE_PEEKTEXT, c, (void *)addr, 0), patched);
    int st;
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_STATUS(st, kt_stopped(SIGTRAP));
    struct user_regs_struct r;
    KT_SYS_RET(ptrace(PTRACE_GETREGS, c, 0, &r), 0);
    KT_EQ(r.rip, addr + 1);
    /* put the byte back, step back over it, go on */
    KT_SYS_RET(ptrace(PTRACE_POKETEXT, c, (void *)addr, (void *)orig), 0);
    r.rip = addr;
    KT_SYS_RET(ptrace(PTRACE_SETREGS, c, 0, &r), 0);
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_WAIT_STATUS(c, kt_exited(13));
}

KT_CASE(poketext_text_stays_read_only_to_the_program) {
    pid_t c = kt_start_traced(body_nothing);
    if (c < 0) return;
    unsigned long addr = (unsigned long)&target_fn;
    long orig = ptrace(PTRACE_PEEKTEXT, c, (void *)addr, 0);
    KT_SYS_RET(ptrace(PTRACE_POKETEXT, c, (void *)addr, (void *)orig), 0);
    kt_kill_reap(c);
    int st = kt_status_of(kt_touch_write, (volatile char *)addr);
    KT_STATUS(st, kt_killed(SIGSEGV));
}

static void body_steps(void) {
    __asm__ volatile("int3\n nop\n nop\n nop\n nop\n nop\n nop\n nop\n nop\n");
    _exit(0);
}

KT_CASE(singlestep_advances_one_instruction) {
    pid_t c = kt_start_traced(body_steps);
    if (c < 0) return;
    struct user_regs_struct r;
    int st;
    /* to the int3 before the nops */
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_STATUS(st, kt_stopped(SIGTRAP));
    KT_SYS_RET(ptrace(PTRACE_GETREGS, c, 0, &r), 0);
    unsigned long prev = r.rip;
    for (int i = 0; i < 5; i++) {
        KT_SYS_RET(ptrace(PTRACE_SINGLESTEP, c, 0, 0), 0);
        KT_SYS_RET(waitpid(c, &st, 0), c);
        KT_STATUS(st, kt_stopped(SIGTRAP));
        KT_SYS_RET(ptrace(PTRACE_GETREGS, c, 0, &r), 0);
        KT_TRUE(r.rip == prev + 1, "step %d: rip %lx after %lx", i, (unsigned long)r.rip, prev);
        KT_EQ(r.eflags & 0x100, 0);
        prev = r.rip;
    }
    siginfo_t si;
    KT_SYS_RET(ptrace(PTRACE_GETSIGINFO, c, 0, &si), 0);
    KT_EQ(si.si_signo, SIGTRAP);
    KT_EQ(si.si_code, 2); /* TRAP_TRACE */
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_WAIT_STATUS(c, kt_exited(0));
}

/* ---- registers ---- */

static void body_mxcsr(void) {
    unsigned int m = 0x1f80 | 0x6000; /* round toward zero */
    __asm__ volatile("ldmxcsr %0" ::"m"(m));
    syscall(SYS_kill, syscall(SYS_getpid), SIGSTOP);
    unsigned int now;
    __asm__ volatile("stmxcsr %0" : "=m"(now));
    _exit(now == (0x1f80 | 0x2000) ? 0 : 1);
}

KT_CASE(getfpregs_setfpregs_mxcsr) {
    pid_t c = kt_start_traced(body_mxcsr);
    if (c < 0) return;
    int st;
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_STATUS(st, kt_stopped(SIGSTOP));
    struct user_fpregs_struct f;
    KT_SYS_RET(ptrace(PTRACE_GETFPREGS, c, 0, &f), 0);
    KT_EQ(f.mxcsr, 0x1f80 | 0x6000);
    f.mxcsr = 0x1f80 | 0x2000;
    KT_SYS_RET(ptrace(PTRACE_SETFPREGS, c, 0, &f), 0);
    f.mxcsr = 0xffff0000;
    KT_SYS_ERR(ptrace(PTRACE_SETFPREGS, c, 0, &f), EINVAL);
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_WAIT_STATUS(c, kt_exited(0));
}

KT_CASE(getregset_prstatus_and_fpregs) {
    pid_t c = kt_start_traced(body_nothing);
    if (c < 0) return;
    struct user_regs_struct a, b;
    memset(&b, 0, sizeof b);
    KT_SYS_RET(ptrace(PTRACE_GETREGS, c, 0, &a), 0);
    struct iovec iov = {&b, sizeof b};
    KT_SYS_RET(ptrace(PTRACE_GETREGSET, c, (void *)NT_PRSTATUS, &iov), 0);
    KT_EQ(iov.iov_len, sizeof b);
    KT_EQ(memcmp(&a, &b, sizeof a), 0);
    unsigned long first = 0;
    struct iovec one = {&first, 8};
    KT_SYS_RET(ptrace(PTRACE_GETREGSET, c, (void *)NT_PRSTATUS, &one), 0);
    KT_EQ(one.iov_len, 8);
    KT_EQ(first, a.r15);
    struct iovec big = {&b, 4096};
    char buf[4096];
    big.iov_base = buf;
    KT_SYS_RET(ptrace(PTRACE_GETREGSET, c, (void *)NT_PRSTATUS, &big), 0);
    KT_EQ(big.iov_len, sizeof a);
    struct iovec fp = {buf, 512};
    KT_SYS_RET(ptrace(PTRACE_GETREGSET, c, (void *)NT_PRFPREG, &fp), 0);
    KT_EQ(fp.iov_len, 512);
    struct iovec odd = {buf, 7};
    errno = 0;
    long r1 = ptrace(PTRACE_GETREGSET, c, (void *)NT_PRSTATUS, &odd);
    int e1 = errno;
    long r2 = ptrace(PTRACE_GETREGSET, c, (void *)0x999, &iov);
    int e2 = errno;
    kt_kill_reap(c);
    KT_EQ(r1, -1);
    KT_EQ(e1, EINVAL);
    KT_EQ(r2, -1);
    KT_EQ(e2, EINVAL);
}

KT_CASE(setregs_bad_segment_or_base_eio) {
    pid_t c = kt_start_traced(body_nothing);
    if (c < 0) return;
    struct user_regs_struct r, r2;
    KT_SYS_RET(ptrace(PTRACE_GETREGS, c, 0, &r), 0);
    r2 = r;
    r2.cs = 0x10; /* a kernel selector */
    errno = 0;
    long a = ptrace(PTRACE_SETREGS, c, 0, &r2);
    int ea = errno;
    r2 = r;
    r2.fs_base = 0xffff800000000000UL;
    long b = ptrace(PTRACE_SETREGS, c, 0, &r2);
    int eb = errno;
    long d = ptrace(PTRACE_POKEUSER, c, (void *)(22 * 8), (void *)0xffff800000000000UL);
    int ed = errno;
    kt_kill_reap(c);
    KT_EQ(a, -1);
    KT_EQ(ea, EIO);
    KT_EQ(b, -1);
    KT_EQ(eb, EIO);
    KT_EQ(d, -1);
    KT_EQ(ed, EIO);
}

KT_CASE(getsiginfo_setsiginfo) {
    pid_t c = kt_start_traced(body_nothing);
    if (c < 0) return;
    siginfo_t si;
    KT_SYS_RET(ptrace(PTRACE_GETSIGINFO, c, 0, &si), 0);
    KT_EQ(si.si_signo, SIGSTOP);
    KT_EQ(si.si_code, SI_USER);
    KT_EQ(si.si_pid, c);
    si.si_pid = 4321;
    KT_SYS_RET(ptrace(PTRACE_SETSIGINFO, c, 0, &si), 0);
    siginfo_t again;
    KT_SYS_RET(ptrace(PTRACE_GETSIGINFO, c, 0, &again), 0);
    KT_EQ(again.si_pid, 4321);
    KT_SYS_ERR(ptrace(PTRACE_GETSIGINFO, c, 0, (void *)8), EFAULT);
    kt_kill_reap(c);
}

/* ---- events ---- */

static void body_exit9(void) { _exit(9); }

KT_CASE(exit_event_with_status) {
    pid_t c = kt_start_traced(body_exit9);
    if (c < 0) return;
    KT_SYS_RET(ptrace(PTRACE_SETOPTIONS, c, 0, PTRACE_O_TRACEEXIT), 0);
    int st;
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_EQ(st >> 8, SIGTRAP | (PTRACE_EVENT_EXIT << 8));
    unsigned long msg = 0;
    KT_SYS_RET(ptrace(PTRACE_GETEVENTMSG, c, 0, &msg), 0);
    KT_EQ(msg, 9 << 8);
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_WAIT_STATUS(c, kt_exited(9));
}

static void body_exec(void) {
    execl(kt_self, kt_self, "kt-exit", "11", (char *)0);
    _exit(100);
}

KT_CASE(exec_event_with_old_pid) {
    pid_t c = kt_start_traced(body_exec);
    if (c < 0) return;
    KT_SYS_RET(ptrace(PTRACE_SETOPTIONS, c, 0, PTRACE_O_TRACEEXEC), 0);
    int st;
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_EQ(st >> 8, SIGTRAP | (PTRACE_EVENT_EXEC << 8));
    unsigned long msg = 0;
    KT_SYS_RET(ptrace(PTRACE_GETEVENTMSG, c, 0, &msg), 0);
    KT_EQ(msg, c);
    /* no legacy SIGTRAP after it */
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_WAIT_STATUS(c, kt_exited(11));
}

KT_CASE(exec_syscall_sequence) {
    pid_t c = kt_start_traced(body_exec);
    if (c < 0) return;
    KT_SYS_RET(ptrace(PTRACE_SETOPTIONS, c, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXEC), 0);
    int st, n = 0, saw_exec = 0;
    long first = -1;
    long execret = 99;
    for (;;) {
        KT_SYS_RET(ptrace(PTRACE_SYSCALL, c, 0, 0), 0);
        KT_SYS_RET(waitpid(c, &st, 0), c);
        if (!WIFSTOPPED(st)) break;
        if ((st >> 8) == (SIGTRAP | (PTRACE_EVENT_EXEC << 8))) {
            saw_exec = n;
            continue;
        }
        KT_EQ(WSTOPSIG(st), SIGTRAP | 0x80);
        if (n == 0) first = ptrace(PTRACE_PEEKUSER, c, (void *)(15 * 8), 0);
        if (n == 1) execret = ptrace(PTRACE_PEEKUSER, c, (void *)(10 * 8), 0);
        n++;
    }
    KT_STATUS(st, kt_exited(11));
    KT_EQ(first, SYS_execve);
    KT_EQ(saw_exec, 1); /* between the entry and the exit of execve */
    KT_EQ(execret, 0);
    KT_TRUE(n >= 3, "%d stops", n);
}

static void body_fork(void) {
    pid_t g = fork();
    if (g == 0) _exit(3);
    int st;
    if (waitpid(g, &st, 0) != g) _exit(50);
    _exit(WIFEXITED(st) ? WEXITSTATUS(st) + 20 : 51);
}

KT_CASE(fork_event_auto_attaches_the_child) {
    pid_t c = kt_start_traced(body_fork);
    if (c < 0) return;
    KT_SYS_RET(ptrace(PTRACE_SETOPTIONS, c, 0, PTRACE_O_TRACEFORK), 0);
    int st;
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_EQ(st >> 8, SIGTRAP | (PTRACE_EVENT_FORK << 8));
    unsigned long g = 0;
    KT_SYS_RET(ptrace(PTRACE_GETEVENTMSG, c, 0, &g), 0);
    KT_TRUE(g > 0, "new pid %lu", g);
    /* the new process starts stopped by SIGSTOP, traced by us */
    KT_SYS_RET(waitpid(g, &st, __WALL), (long)g);
    KT_STATUS(st, kt_stopped(SIGSTOP));
    KT_SYS_RET(ptrace(PTRACE_CONT, g, 0, 0), 0);
    /* its exit goes to us first */
    KT_SYS_RET(waitpid(g, &st, __WALL), (long)g);
    KT_STATUS(st, kt_exited(3));
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    /* then to its parent (a SIGCHLD stop on the way) */
    KT_STATUS(finish(c), kt_exited(23));
}

KT_CASE(fork_without_option_is_not_traced) {
    pid_t c = kt_start_traced(body_fork);
    if (c < 0) return;
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    int st;
    KT_SYS_RET(waitpid(c, &st, 0), c);
    /* the SIGCHLD of the untraced child's exit: no fork event before it */
    KT_STATUS(st, kt_stopped(SIGCHLD));
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_WAIT_STATUS(c, kt_exited(23));
}

static void body_vfork(void) {
    pid_t g = vfork();
    if (g == 0) _exit(4);
    int st;
    if (waitpid(g, &st, 0) != g) _exit(50);
    _exit(WIFEXITED(st) ? WEXITSTATUS(st) + 20 : 51);
}

KT_CASE(vfork_event) {
    pid_t c = kt_start_traced(body_vfork);
    if (c < 0) return;
    KT_SYS_RET(ptrace(PTRACE_SETOPTIONS, c, 0, PTRACE_O_TRACEVFORK), 0);
    int st;
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    /* The new child's SIGSTOP and the parent's event come in either
     * order, and the child (continued by us) may even exit before the
     * parent reaches its event stop: Linux wakes the child before
     * ptrace_event_pid(), so on two CPUs nothing orders them. */
    pid_t g = 0, g_stopped = 0;
    int g_exited = 0;
    for (int i = 0; i < 3 && !(g > 0 && g_stopped > 0); i++) {
        pid_t w = waitpid(-1, &st, __WALL);
        KT_TRUE(w > 0, "waitpid: %d", (int)w);
        if (w == c) {
            KT_EQ(st >> 8, SIGTRAP | (PTRACE_EVENT_VFORK << 8));
            unsigned long m = 0;
            KT_SYS_RET(ptrace(PTRACE_GETEVENTMSG, c, 0, &m), 0);
            g = (pid_t)m;
        } else if (g_stopped == 0) {
            KT_STATUS(st, kt_stopped(SIGSTOP));
            g_stopped = w;
            KT_SYS_RET(ptrace(PTRACE_CONT, w, 0, 0), 0);
        } else {
            KT_EQ(w, g_stopped);
            KT_STATUS(st, kt_exited(4));
            g_exited = 1;
        }
    }
    KT_TRUE(g > 0, "vfork child");
    KT_EQ(g, g_stopped);
    if (!g_exited) {
        KT_SYS_RET(waitpid(g, &st, __WALL), g);
        KT_STATUS(st, kt_exited(4));
    }
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_STATUS(finish(c), kt_exited(24));
}

static int clone_fn(void *arg) {
    (void)arg;
    return 8;
}

static void body_clone(void) {
    static char stack[16384] __attribute__((aligned(16)));
    pid_t g = clone(clone_fn, stack + sizeof stack, SIGUSR2, 0);
    if (g < 0) _exit(50);
    int st;
    if (waitpid(g, &st, __WCLONE) != g) _exit(51);
    _exit(WIFEXITED(st) ? WEXITSTATUS(st) + 20 : 52);
}

KT_CASE(clone_event_for_a_non_sigchld_child) {
    pid_t c = kt_start_traced(body_clone);
    if (c < 0) return;
    KT_SYS_RET(ptrace(PTRACE_SETOPTIONS, c, 0, PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK), 0);
    int st;
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_EQ(st >> 8, SIGTRAP | (PTRACE_EVENT_CLONE << 8));
    unsigned long g = 0;
    KT_SYS_RET(ptrace(PTRACE_GETEVENTMSG, c, 0, &g), 0);
    /* a tracee is waited for whatever its exit signal */
    KT_SYS_RET(waitpid(g, &st, 0), (long)g);
    KT_STATUS(st, kt_stopped(SIGSTOP));
    KT_SYS_RET(ptrace(PTRACE_CONT, g, 0, 0), 0);
    KT_SYS_RET(waitpid(g, &st, 0), (long)g);
    KT_STATUS(st, kt_exited(8));
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    /* the SIGUSR2 exit signal stops it; suppressed */
    KT_STATUS(finish(c), kt_exited(28));
}

KT_CASE(seized_fork_child_starts_with_event_stop) {
    pid_t c = KT_FORK();
    if (c == 0) {
        syscall(SYS_kill, syscall(SYS_getpid), SIGSTOP);
        body_fork();
    }
    int st;
    KT_SYS_RET(waitpid(c, &st, WUNTRACED), c);
    KT_SYS_RET(ptrace(PTRACE_SEIZE, c, 0, PTRACE_O_TRACEFORK), 0);
    KT_SYS_RET(kill(c, SIGCONT), 0);
    /* the seized stopped process traps for its new tracer first */
    int saw_fork = 0;
    pid_t g = 0;
    for (int i = 0; i < 8 && !saw_fork; i++) {
        KT_SYS_RET(waitpid(c, &st, 0), c);
        if ((st >> 8) == (SIGTRAP | (PTRACE_EVENT_FORK << 8))) {
            unsigned long m = 0;
            KT_SYS_RET(ptrace(PTRACE_GETEVENTMSG, c, 0, &m), 0);
            g = (pid_t)m;
            saw_fork = 1;
        }
        KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    }
    KT_TRUE(saw_fork, "no fork event");
    KT_SYS_RET(waitpid(g, &st, __WALL), g);
    KT_EQ(st >> 8, SIGTRAP | (PTRACE_EVENT_STOP << 8));
    KT_SYS_RET(ptrace(PTRACE_CONT, g, 0, 0), 0);
    KT_SYS_RET(waitpid(g, &st, __WALL), g);
    KT_STATUS(st, kt_exited(3));
    KT_STATUS(finish(c), kt_exited(23));
}

KT_CASE(sigstop_to_a_tracee_is_a_group_stop_after_injection) {
    pid_t c = kt_start_traced(body_nothing);
    if (c < 0) return;
    int st;
    /* inject the SIGSTOP of the first stop: a group stop, reported too */
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, SIGSTOP), 0);
    KT_SYS_RET(waitpid(c, &st, 0), c);
    KT_STATUS(st, kt_stopped(SIGSTOP));
    KT_SYS_RET(ptrace(PTRACE_CONT, c, 0, 0), 0);
    KT_WAIT_STATUS(c, kt_exited(0));
}

KT_MAIN()
