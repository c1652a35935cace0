/* rseq(2), restartable sequences, as Linux 6.1 answers them: the
 * registration rules (exact errno: EINVAL for a bad alignment, length or
 * flags and for another area, EPERM for another signature, EBUSY for the
 * same registration again, EFAULT for a kernel address), cpu_id and
 * cpu_id_start written on the way back to user mode and following
 * sched_setaffinity to each CPU, a critical section (a small asm loop)
 * aborted by a signal's delivery (the handler's saved ip is abort_ip, and
 * rseq_cs is cleared), SIGSEGV for a bad signature, a bad descriptor and
 * a read-only area, EFAULT for an unmapped one and a stale rseq_cs
 * cleared at registration (both from 6.1.y stable, Debian's 6.1.192), unregistration (cpu_id back to -1), fork keeping the
 * registration, a thread and an exec'd program starting without one,
 * PTRACE_GET_RSEQ_CONFIGURATION, membarrier(PRIVATE_EXPEDITED_RSEQ)
 * aborting a section spinning on the other CPU, and
 * glibc's own registration at start (Debian 12's glibc 2.36 registers
 * every thread with rseq_len 32; its __rseq_size says 20, the feature
 * size, since Debian backported glibc bug 31965's fix).
 *
 * musl registers nothing: the program registers its own struct rseq. */
#include "kt.h"

#include <pthread.h>
#include <sys/ptrace.h>
#include <sys/time.h>
#include <ucontext.h>

#define RSEQ_SIG 0x53053053u
#define RSEQ_FLAG_UNREGISTER 1

/* include/uapi/linux/rseq.h of 6.1 */
struct kt_rseq {
    uint32_t cpu_id_start;
    uint32_t cpu_id;
    uint64_t rseq_cs;
    uint32_t flags;
} __attribute__((aligned(32)));

struct kt_rseq_cs {
    uint32_t version;
    uint32_t flags;
    uint64_t start_ip;
    uint64_t post_commit_offset;
    uint64_t abort_ip;
} __attribute__((aligned(32)));

static struct kt_rseq rs;          /* the main thread's */
static struct kt_rseq rs_thread;   /* the second thread's */
static struct kt_rseq rs_other;    /* another aligned area */
static char big[128] __attribute__((aligned(32)));

static long sys_rseq(void *p, uint32_t len, int flags, uint32_t sig) {
    return syscall(SYS_rseq, p, len, flags, sig);
}

static long getcpu_sys(void) {
    unsigned cpu = ~0u;
    if (syscall(SYS_getcpu, &cpu, 0, 0) != 0) return -1;
    return cpu;
}

/* The critical section: rdi = struct rseq, rsi = descriptor, rdx = flag.
 * Spins in [rseq_cs_start, rseq_cs_end) while *flag is 0; returns 1 when
 * it leaves through the end (commit), 2 when it continues at abort_ip,
 * which the signature word precedes. */
__asm__(".text\n"
        ".globl kt_run_cs\n"
        ".type kt_run_cs, @function\n"
        "kt_run_cs:\n"
        "    movq %rsi, 8(%rdi)\n"
        ".globl kt_cs_start\n"
        "kt_cs_start:\n"
        "    movl (%rdx), %eax\n"
        "    testl %eax, %eax\n"
        "    jz kt_cs_start\n"
        ".globl kt_cs_end\n"
        "kt_cs_end:\n"
        "    movl $1, %eax\n"
        "    ret\n"
        "    .long 0x53053053\n"
        ".globl kt_cs_abort\n"
        "kt_cs_abort:\n"
        "    movl $2, %eax\n"
        "    ret\n"
        "    .long 0x11111111\n"
        ".globl kt_cs_badsig_abort\n"
        "kt_cs_badsig_abort:\n"
        "    movl $3, %eax\n"
        "    ret\n");
extern int kt_run_cs(struct kt_rseq *r, struct kt_rseq_cs *cs, volatile int *flag);
extern char kt_cs_start[], kt_cs_end[], kt_cs_abort[], kt_cs_badsig_abort[];

static struct kt_rseq_cs cs_good, cs_badsig, cs_badver;

static void fill_cs(void) {
    cs_good.version = 0;
    cs_good.flags = 0;
    cs_good.start_ip = (uintptr_t)kt_cs_start;
    cs_good.post_commit_offset = (uintptr_t)kt_cs_end - (uintptr_t)kt_cs_start;
    cs_good.abort_ip = (uintptr_t)kt_cs_abort;
    cs_badsig = cs_good;
    cs_badsig.abort_ip = (uintptr_t)kt_cs_badsig_abort;
    cs_badver = cs_good;
    cs_badver.version = 1;
}

/* Registers rs once (the cases after registration_errors rely on it). */
static int ensure_registered(void) {
    long r = sys_rseq(&rs, 32, 0, RSEQ_SIG);
    return r == 0 || (r == -1 && errno == EBUSY);
}

KT_CASE(registration_errors) {
    char *base = (char *)&rs;
    KT_SYS_ERR(sys_rseq(base + 8, 32, 0, RSEQ_SIG), EINVAL);
    KT_SYS_ERR(sys_rseq(base + 4, 32, 0, RSEQ_SIG), EINVAL);
    /* 6.1 takes exactly sizeof(struct rseq) */
    KT_SYS_ERR(sys_rseq(big, 31, 0, RSEQ_SIG), EINVAL);
    KT_SYS_ERR(sys_rseq(big, 0, 0, RSEQ_SIG), EINVAL);
    KT_SYS_ERR(sys_rseq(big, 64, 0, RSEQ_SIG), EINVAL);
    KT_SYS_ERR(sys_rseq(&rs, 32, 2, RSEQ_SIG), EINVAL);
    KT_SYS_ERR(sys_rseq(&rs, 32, -1, RSEQ_SIG), EINVAL);
    /* a kernel address; an unmapped user one is accepted (below) */
    KT_SYS_ERR(sys_rseq((void *)0xffff800000000000ul, 32, 0, RSEQ_SIG), EFAULT);
    KT_SYS_ERR(sys_rseq((void *)0x7ffffffff000ul, 32, 0, RSEQ_SIG), EFAULT);
    /* nothing registered yet: unregistration is EINVAL */
    KT_SYS_ERR(sys_rseq(&rs, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG), EINVAL);
    KT_SYS_ERR(sys_rseq(&rs, 32, RSEQ_FLAG_UNREGISTER | 2, RSEQ_SIG), EINVAL);
}

KT_CASE(register_writes_cpu_id) {
    rs.cpu_id_start = 0xdead;
    rs.cpu_id = 0xdead;
    rs.rseq_cs = 0;
    KT_SYS_RET(sys_rseq(&rs, 32, 0, RSEQ_SIG), 0);
    /* written on the way back from the call */
    KT_NE(rs.cpu_id, 0xdead);
    KT_NE(rs.cpu_id_start, 0xdead);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    KT_TRUE(rs.cpu_id < (uint32_t)ncpu, "cpu_id %u of %ld CPUs", rs.cpu_id, ncpu);
    /* agrees with getcpu (a move between the two reads is retried) */
    int same = 0;
    for (int i = 0; i < 100 && !same; i++) {
        uint32_t a = rs.cpu_id;
        long c = getcpu_sys();
        long s = sched_getcpu();
        same = (long)a == c && c == s && rs.cpu_id == a;
    }
    KT_TRUE(same, "cpu_id %u, getcpu %ld, sched_getcpu %d", rs.cpu_id, getcpu_sys(), sched_getcpu());
}

KT_CASE(registered_again_ebusy_eperm_einval) {
    KT_TRUE(ensure_registered(), "register: %s", kt_errname(errno));
    KT_SYS_ERR(sys_rseq(&rs, 32, 0, RSEQ_SIG), EBUSY);
    KT_SYS_ERR(sys_rseq(&rs, 32, 0, RSEQ_SIG + 1), EPERM);
    KT_SYS_ERR(sys_rseq(&rs_other, 32, 0, RSEQ_SIG), EINVAL);
    KT_SYS_ERR(sys_rseq(&rs_other, 32, 0, RSEQ_SIG + 1), EINVAL);
    KT_SYS_ERR(sys_rseq(&rs, 64, 0, RSEQ_SIG), EINVAL);
    KT_SYS_ERR(sys_rseq(&rs, 32, 4, RSEQ_SIG), EINVAL);
}

KT_CASE(cpu_id_follows_sched_setaffinity) {
    KT_TRUE(ensure_registered(), "register: %s", kt_errname(errno));
    cpu_set_t orig, one;
    KT_SYS_OK(sched_getaffinity(0, sizeof orig, &orig));
    int tried = 0;
    /* every CPU of the mask, twice round: with two or more, each step but
     * possibly the first is a move, whose way back writes both fields (a
     * thread already on the CPU keeps the values written before) */
    for (int i = 0; i < 2 * 64; i++) {
        int cpu = i % 64;
        if (!CPU_ISSET(cpu, &orig)) continue;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        KT_SYS_OK(sched_setaffinity(0, sizeof one, &one));
        KT_EQ(rs.cpu_id, cpu);
        KT_EQ(rs.cpu_id_start, cpu);
        KT_EQ(sched_getcpu(), cpu);
        KT_EQ(getcpu_sys(), cpu);
        tried++;
    }
    KT_SYS_OK(sched_setaffinity(0, sizeof orig, &orig));
    KT_TRUE(tried >= 1, "no CPU in the mask");
}

static volatile int got_sig;
static volatile uintptr_t sig_ip;

static void on_alarm(int sig, siginfo_t *si, void *uc) {
    (void)sig;
    (void)si;
    sig_ip = ((ucontext_t *)uc)->uc_mcontext.gregs[REG_RIP];
    got_sig = 1;
}

KT_CASE(signal_aborts_critical_section) {
    KT_TRUE(ensure_registered(), "register: %s", kt_errname(errno));
    fill_cs();
    struct sigaction sa = {0};
    sa.sa_sigaction = on_alarm;
    sa.sa_flags = SA_SIGINFO;
    KT_SYS_OK(sigaction(SIGALRM, &sa, 0));
    uintptr_t start = (uintptr_t)kt_cs_start, end = (uintptr_t)kt_cs_end;
    int done = 0;
    for (int attempt = 0; attempt < 20 && !done; attempt++) {
        got_sig = 0;
        sig_ip = 0;
        struct itimerval it = {{0, 0}, {0, 20000}};
        KT_SYS_OK(setitimer(ITIMER_REAL, &it, 0));
        int r = 0;
        /* a preemption may abort it before the signal: run it again */
        while (!got_sig) {
            r = kt_run_cs(&rs, &cs_good, &got_sig);
            if (r == 1) rs.rseq_cs = 0;
        }
        if (sig_ip >= start && sig_ip < end) {
            KT_TRUE(0, "the handler's frame holds ip %#lx inside the section [%#lx, %#lx)",
                    (unsigned long)sig_ip, (unsigned long)start, (unsigned long)end);
        }
        if (sig_ip != (uintptr_t)kt_cs_abort) continue; /* the signal came outside the section */
        KT_EQ(r, 2);
        /* the kernel cleared rseq_cs when it aborted */
        KT_EQ(rs.rseq_cs, 0);
        done = 1;
    }
    signal(SIGALRM, SIG_DFL);
    KT_TRUE(done, "the signal never came inside the section");
}


static volatile int usr1_count;

static void on_usr1(int sig) {
    (void)sig;
    usr1_count++;
}

KT_CASE(signal_outside_section_clears_rseq_cs) {
    KT_TRUE(ensure_registered(), "register: %s", kt_errname(errno));
    fill_cs();
    struct sigaction sa = {0};
    sa.sa_handler = on_usr1;
    KT_SYS_OK(sigaction(SIGUSR1, &sa, 0));
    /* a descriptor whose section the ip is not in: the next look (this
     * signal's delivery) clears the pointer and aborts nothing */
    rs.rseq_cs = (uintptr_t)&cs_good;
    usr1_count = 0;
    KT_SYS_OK(raise(SIGUSR1));
    KT_EQ(usr1_count, 1);
    KT_EQ(rs.rseq_cs, 0);
    signal(SIGUSR1, SIG_DFL);
}

static volatile int segv_returns;

static void on_segv_return(int sig) {
    (void)sig;
    segv_returns++;
}

/* In a child: rseq_cs names `cs`, then a signal's delivery makes the kernel
 * look at it (whatever the ip). */
static void child_with_cs(struct kt_rseq_cs *cs, int segv_handler) {
    signal(SIGUSR1, on_usr1);
    if (segv_handler) signal(SIGSEGV, on_segv_return);
    rs.rseq_cs = (uintptr_t)cs;
    /* kill(2), not raise(): musl's raise blocks every signal around its
     * tkill, and a look failing then (after a preemption) would find
     * SIGSEGV blocked, which force_sig makes fatal at once */
    kill(getpid(), SIGUSR1);
    _exit(0);
}

KT_CASE(bad_signature_is_sigsegv) {
    KT_TRUE(ensure_registered(), "register: %s", kt_errname(errno));
    fill_cs();
    pid_t c = KT_FORK();
    if (c == 0) child_with_cs(&cs_badsig, 0);
    KT_WAIT_STATUS(c, kt_killed(SIGSEGV));
    /* with a SIGSEGV handler: its delivery fails the same way, which
     * makes SIGSEGV fatal (force_fatal_sig); the handler may still run
     * once with SIGSEGV blocked (Linux: mostly, not always), and its
     * return kills */
    c = KT_FORK();
    if (c == 0) child_with_cs(&cs_badsig, 1);
    KT_WAIT_STATUS(c, kt_killed(SIGSEGV));
    /* version 1 */
    c = KT_FORK();
    if (c == 0) child_with_cs(&cs_badver, 0);
    KT_WAIT_STATUS(c, kt_killed(SIGSEGV));
    /* a descriptor pointer at a kernel address */
    c = KT_FORK();
    if (c == 0) child_with_cs((struct kt_rseq_cs *)0xffff800000000000ul, 0);
    KT_WAIT_STATUS(c, kt_killed(SIGSEGV));
    /* the good one: nothing happens */
    c = KT_FORK();
    if (c == 0) child_with_cs(&cs_good, 0);
    KT_WAIT_STATUS(c, kt_exited(0));
}

KT_CASE(unwritable_area_efault_or_sigsegv) {
    KT_TRUE(ensure_registered(), "register: %s", kt_errname(errno));
    pid_t c = KT_FORK();
    if (c == 0) {
        /* the fork kept rs: drop it first */
        if (sys_rseq(&rs, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) != 0) _exit(10);
        char *p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) _exit(11);
        /* an unmapped page: registration reads rseq_cs there (6.1.y) */
        munmap(p, 4096);
        long r = sys_rseq(p, 32, 0, RSEQ_SIG);
        if (r != -1 || errno != EFAULT) _exit(12);
        /* a read-only page of zeros: registered, then the way back
         * cannot write cpu_id: SIGSEGV */
        p = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) _exit(13);
        sys_rseq(p, 32, 0, RSEQ_SIG);
        _exit(14);
    }
    KT_WAIT_STATUS(c, kt_killed(SIGSEGV));
}

KT_CASE(registration_clears_rseq_cs) {
    KT_TRUE(ensure_registered(), "register: %s", kt_errname(errno));
    fill_cs();
    pid_t c = KT_FORK();
    if (c == 0) {
        if (sys_rseq(&rs, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) != 0) _exit(10);
        /* a stale descriptor with a bad signature left in the area */
        rs.rseq_cs = (uintptr_t)&cs_badsig;
        if (sys_rseq(&rs, 32, 0, RSEQ_SIG) != 0) _exit(11);
        _exit(rs.rseq_cs == 0 ? 0 : 12);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

KT_CASE(unregister_rules_and_cpu_id_reset) {
    KT_TRUE(ensure_registered(), "register: %s", kt_errname(errno));
    KT_SYS_ERR(sys_rseq(&rs, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG + 1), EPERM);
    KT_SYS_ERR(sys_rseq(&rs_other, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG), EINVAL);
    KT_SYS_ERR(sys_rseq(&rs, 64, RSEQ_FLAG_UNREGISTER, RSEQ_SIG), EINVAL);
    KT_SYS_RET(sys_rseq(&rs, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG), 0);
    KT_EQ(rs.cpu_id_start, 0);
    KT_EQ(rs.cpu_id, 0xffffffffu);
    /* no longer written */
    rs.cpu_id = 0xdead;
    sched_yield();
    KT_EQ(rs.cpu_id, 0xdead);
    KT_SYS_ERR(sys_rseq(&rs, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG), EINVAL);
    /* another area and signature now */
    KT_SYS_RET(sys_rseq(&rs_other, 32, 0, RSEQ_SIG + 1), 0);
    KT_SYS_ERR(sys_rseq(&rs, 32, 0, RSEQ_SIG), EINVAL);
    KT_SYS_RET(sys_rseq(&rs_other, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG + 1), 0);
    KT_SYS_RET(sys_rseq(&rs, 32, 0, RSEQ_SIG), 0);
}

KT_CASE(fork_keeps_registration) {
    KT_TRUE(ensure_registered(), "register: %s", kt_errname(errno));
    rs.cpu_id = 0xdead;
    pid_t c = KT_FORK();
    if (c == 0) {
        /* written on the child's first way back to user mode */
        int ok = rs.cpu_id != 0xdead && (long)rs.cpu_id == getcpu_sys();
        if (!ok) {
            sched_yield();
            ok = rs.cpu_id != 0xdead && (long)rs.cpu_id == getcpu_sys();
        }
        long r = sys_rseq(&rs, 32, 0, RSEQ_SIG);
        if (r != -1 || errno != EBUSY) _exit(2);
        _exit(ok ? 0 : 3);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
}

static void *thread_main(void *arg) {
    (void)arg;
    long r1 = sys_rseq(&rs, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG);
    int e1 = errno;
    if (r1 != -1 || e1 != EINVAL) return (void *)1;
    rs_thread.cpu_id = 0xdead;
    if (sys_rseq(&rs_thread, 32, 0, RSEQ_SIG) != 0) return (void *)2;
    if (rs_thread.cpu_id == 0xdead) return (void *)3;
    if (sys_rseq(&rs_thread, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) != 0) return (void *)4;
    return (void *)0;
}

KT_CASE(thread_starts_unregistered) {
    KT_TRUE(ensure_registered(), "register: %s", kt_errname(errno));
    pthread_t th;
    KT_EQ(pthread_create(&th, 0, thread_main, 0), 0);
    void *ret = (void *)-1;
    KT_EQ(pthread_join(th, &ret), 0);
    KT_EQ((long)ret, 0);
    /* the main thread's registration is untouched */
    KT_SYS_ERR(sys_rseq(&rs, 32, 0, RSEQ_SIG), EBUSY);
}

KT_CASE(exec_clears_registration) {
    KT_TRUE(ensure_registered(), "register: %s", kt_errname(errno));
    pid_t c = KT_FORK();
    if (c == 0) {
        char *argv[] = {(char *)kt_self, "rseq-after-exec", 0};
        execv(kt_self, argv);
        _exit(127);
    }
    /* the exec'd image (a static program: rs at the same address)
     * registers anew: 0, not EBUSY */
    KT_WAIT_STATUS(c, kt_exited(0));
}

#define PTRACE_GET_RSEQ_CONFIGURATION_ 0x420f

struct kt_rseq_conf {
    uint64_t rseq_abi_pointer;
    uint32_t rseq_abi_size;
    uint32_t signature;
    uint32_t flags;
    uint32_t pad;
};

KT_CASE(ptrace_get_rseq_configuration) {
    KT_TRUE(ensure_registered(), "register: %s", kt_errname(errno));
    pid_t c = KT_FORK();
    if (c == 0) {
        /* registered (the fork kept it); stops for the tracer */
        if (ptrace(PTRACE_TRACEME, 0, 0, 0) != 0) _exit(10);
        raise(SIGSTOP);
        if (sys_rseq(&rs, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG) != 0) _exit(11);
        raise(SIGSTOP);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_stopped(SIGSTOP));
    struct kt_rseq_conf conf;
    memset(&conf, 0xaa, sizeof conf);
    KT_SYS_RET(ptrace(PTRACE_GET_RSEQ_CONFIGURATION_, c, (void *)sizeof conf, &conf), 24);
    KT_EQ(conf.rseq_abi_pointer, (uintptr_t)&rs);
    KT_EQ(conf.rseq_abi_size, 32);
    KT_EQ(conf.signature, RSEQ_SIG);
    KT_EQ(conf.flags, 0);
    /* a shorter buffer gets that much, the size is still 24 */
    memset(&conf, 0xaa, sizeof conf);
    KT_SYS_RET(ptrace(PTRACE_GET_RSEQ_CONFIGURATION_, c, (void *)8, &conf), 24);
    KT_EQ(conf.rseq_abi_pointer, (uintptr_t)&rs);
    KT_EQ(conf.rseq_abi_size, 0xaaaaaaaau);
    KT_SYS_OK(ptrace(PTRACE_CONT, c, 0, 0));
    KT_WAIT_STATUS(c, kt_stopped(SIGSTOP));
    /* unregistered: zeros */
    memset(&conf, 0xaa, sizeof conf);
    KT_SYS_RET(ptrace(PTRACE_GET_RSEQ_CONFIGURATION_, c, (void *)sizeof conf, &conf), 24);
    KT_EQ(conf.rseq_abi_pointer, 0);
    /* 6.1 reports sizeof(struct rseq) whatever the registration */
    KT_EQ(conf.rseq_abi_size, 32);
    KT_EQ(conf.signature, 0);
    KT_EQ(conf.flags, 0);
    KT_SYS_OK(ptrace(PTRACE_CONT, c, 0, 0));
    KT_WAIT_STATUS(c, kt_exited(0));
}

#define MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ 128
#define MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ 256

static struct kt_rseq rs_spin;
static volatile int spin_ready, spin_stop, spin_barrier_sent, spin_result, spin_early_aborts;
static volatile int spin_cpu;

/* Pinned to spin_cpu, spins in the section until an abort that came
 * after the membarrier was sent (earlier ones, a preemption's, retry) or
 * the stop flag (a commit: 1). */
static void *spinner(void *arg) {
    (void)arg;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(spin_cpu, &one);
    if (sched_setaffinity(0, sizeof one, &one) != 0) return (void *)1;
    if (sys_rseq(&rs_spin, 32, 0, RSEQ_SIG) != 0) return (void *)2;
    spin_ready = 1;
    for (;;) {
        int r = kt_run_cs(&rs_spin, &cs_good, &spin_stop);
        if (r == 2 && !spin_barrier_sent) {
            spin_early_aborts++;
            continue;
        }
        spin_result = r;
        break;
    }
    sys_rseq(&rs_spin, 32, RSEQ_FLAG_UNREGISTER, RSEQ_SIG);
    return (void *)0;
}

KT_CASE(membarrier_rseq_aborts_a_section_on_the_other_cpu) {
    cpu_set_t orig;
    KT_SYS_OK(sched_getaffinity(0, sizeof orig, &orig));
    if (CPU_COUNT(&orig) < 2) KT_SKIP("needs 2 CPUs");
    int cpus[2], n = 0;
    for (int c = 0; c < 64 && n < 2; c++)
        if (CPU_ISSET(c, &orig)) cpus[n++] = c;
    fill_cs();
    /* before its registration: EPERM */
    KT_SYS_ERR(syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 0, 0), EPERM);
    KT_SYS_RET(syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0, 0), 0);
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpus[0], &one);
    KT_SYS_OK(sched_setaffinity(0, sizeof one, &one));
    spin_cpu = cpus[1];
    spin_ready = spin_stop = spin_barrier_sent = spin_result = 0;
    pthread_t th;
    KT_EQ(pthread_create(&th, 0, spinner, 0), 0);
    for (int i = 0; i < 5000 && !spin_ready; i++) kt_msleep(1);
    kt_msleep(20);
    spin_barrier_sent = 1;
    long r = syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 0, 0);
    /* when the call returns, the spinner's next user instruction is at
     * abort_ip: told to stop now, it cannot leave through the commit */
    spin_stop = 1;
    void *ret = (void *)-1;
    KT_EQ(pthread_join(th, &ret), 0);
    KT_SYS_OK(sched_setaffinity(0, sizeof orig, &orig));
    KT_EQ(r, 0);
    KT_EQ((long)ret, 0);
    KT_EQ(spin_result, 2);
}

/* Runs /usr/local/bin/hello-glibc rseq; its output into buf. */
static int run_glibc(char *buf, int size) {
    int p[2];
    if (pipe(p) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        dup2(p[1], 1);
        char *argv[] = {"/usr/local/bin/hello-glibc", "rseq", 0};
        char *envp[] = {"PATH=/bin:/usr/bin", 0};
        execve(argv[0], argv, envp);
        _exit(127);
    }
    close(p[1]);
    int len = 0;
    for (;;) {
        ssize_t n = read(p[0], buf + len, size - 1 - len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        len += n;
    }
    buf[len] = 0;
    close(p[0]);
    int st = -1;
    while (waitpid(pid, &st, 0) == -1 && errno == EINTR) {
    }
    return st;
}

KT_CASE(glibc_registers_at_start) {
    if (access("/usr/local/bin/hello-glibc", X_OK) != 0) {
        KT_SKIP("no /usr/local/bin/hello-glibc");
    }
    char buf[256];
    int st = run_glibc(buf, sizeof buf);
    KT_TRUE(strcmp(buf, "rseq 20 ok thread ok\n") == 0, "output \"%s\"", buf);
    KT_STATUS(st, kt_exited(0));
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "rseq-after-exec") == 0) {
        /* nothing carried over: the first registration succeeds */
        rs.cpu_id = 0xdead;
        return sys_rseq(&rs, 32, 0, RSEQ_SIG) == 0 && rs.cpu_id != 0xdead ? 0 : 1;
    }
    return kt_main(argc, argv);
}
