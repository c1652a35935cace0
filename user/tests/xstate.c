/* XSAVE state: AVX enabled by the kernel (CR4.OSXSAVE, XCR0), YMM registers
 * kept across context switches and signal handlers, the signal frame's
 * XSAVE image with Linux's magic words, sigreturn's checks, AT_MINSIGSTKSZ,
 * the NT_X86_XSTATE regset and /proc/cpuinfo's flags. */
#include "kt_ptrace.h"
#include <pthread.h>
#include <sys/auxv.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <ucontext.h>

#define NT_X86_XSTATE 0x202
#define FP_XSTATE_MAGIC1 0x46505853u
#define FP_XSTATE_MAGIC2 0x46505845u
#define UC_FP_XSTATE 0x1
#define KT_AT_MINSIGSTKSZ 51

static void cpuid(unsigned leaf, unsigned sub, unsigned r[4]) {
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

static uint64_t xgetbv0(void) {
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

static int osxsave(void) {
    unsigned r[4];
    cpuid(1, 0, r);
    return (r[2] >> 27) & 1;
}

/* Whether AVX is usable: CPUID's AVX, OSXSAVE, and YMM in XCR0. */
static int avx_usable(void) {
    unsigned r[4];
    cpuid(1, 0, r);
    if (!((r[2] >> 28) & 1) || !((r[2] >> 27) & 1)) return 0;
    return (xgetbv0() & 6) == 6;
}

/* The standard-format XSAVE size for XCR0 and the AVX component's offset. */
static unsigned xsave_size(void) {
    unsigned r[4];
    cpuid(0xd, 0, r);
    return r[1];
}

static unsigned avx_offset(void) {
    unsigned r[4];
    cpuid(0xd, 2, r);
    return r[1];
}

static void pattern(uint64_t p[4], uint64_t seed) {
    for (int i = 0; i < 4; i++) p[i] = seed * 0x9e3779b97f4a7c15ull + (uint64_t)i * 0x0101010101010101ull;
}

/* Loads ymm7 from `in`, makes `n` sched_yield calls, stores ymm7 to `out`. */
static void ymm7_across_yields(const uint64_t in[4], uint64_t out[4], long n) {
    __asm__ volatile("vmovdqu (%[in]), %%ymm7\n"
                     "1: mov $24, %%eax\n"
                     "syscall\n"
                     "dec %[n]\n"
                     "jnz 1b\n"
                     "vmovdqu %%ymm7, (%[out])\n"
                     : [n] "+r"(n)
                     : [in] "r"(in), [out] "r"(out)
                     : "rax", "rcx", "r11", "memory", "xmm7");
}

/* Loads ymm7 from `in`, sends `sig` to this process (kill), stores ymm7. */
static void ymm7_across_signal(const uint64_t in[4], uint64_t out[4], int sig) {
    long pid = getpid();
    __asm__ volatile("vmovdqu (%[in]), %%ymm7\n"
                     "mov $62, %%eax\n"
                     "mov %[pid], %%rdi\n"
                     "mov %[sig], %%rsi\n"
                     "syscall\n"
                     "vmovdqu %%ymm7, (%[out])\n"
                     :
                     : [in] "r"(in), [out] "r"(out), [pid] "r"(pid), [sig] "r"((long)sig)
                     : "rax", "rcx", "r11", "rdi", "rsi", "memory", "xmm7");
}

KT_CASE(xsave_enabled_with_avx) {
    unsigned r[4];
    cpuid(1, 0, r);
    if (!((r[2] >> 26) & 1)) KT_SKIP("no XSAVE on this CPU");
    KT_EQ(osxsave(), 1);
    uint64_t x = xgetbv0();
    KT_EQ(x & 3, 3);
    if ((r[2] >> 28) & 1) KT_EQ(x & 4, 4);
    /* CPUID 0xd.0 EBX is the size for XCR0 as enabled */
    KT_TRUE(xsave_size() >= 576, "size %u", xsave_size());
}

struct yarg {
    uint64_t seed;
    int ok;
};

static void *yield_thread(void *a) {
    struct yarg *y = a;
    uint64_t in[4], out[4];
    pattern(in, y->seed);
    ymm7_across_yields(in, out, 300);
    y->ok = memcmp(in, out, sizeof in) == 0;
    return 0;
}

KT_CASE(ymm_survives_context_switches) {
    if (!avx_usable()) KT_SKIP("no AVX");
    struct yarg a = {1, 0}, b = {2, 0};
    pthread_t t;
    KT_EQ(pthread_create(&t, 0, yield_thread, &b), 0);
    yield_thread(&a);
    KT_EQ(pthread_join(t, 0), 0);
    KT_EQ(a.ok, 1);
    KT_EQ(b.ok, 1);
    /* and across processes */
    pid_t c = fork();
    if (c == 0) {
        struct yarg y = {3, 0};
        yield_thread(&y);
        _exit(y.ok ? 0 : 1);
    }
    struct yarg d = {4, 0};
    yield_thread(&d);
    KT_EQ(d.ok, 1);
    KT_WAIT_STATUS(c, 0);
}

/* What the SA_SIGINFO handler saw, and what it does to the frame. */
static volatile int h_mode;
static volatile uint64_t h_ucflags, h_fpaddr, h_xfeatures, h_xbv;
static volatile unsigned h_magic1, h_ext, h_xsize, h_magic2;
static volatile uint64_t h_hi[2], h_lo[2];

enum {
    H_LOOK,
    H_CLOBBER,
    H_EDIT_HI,
    H_BAD_BV,
    H_BAD_MAGIC2,
    H_BAD_XCOMP,
    H_BAD_PTR,
    H_XSAVE_AT_16,
    H_FX_AT_16,
    H_FX_AT_8,
    H_AVX_UNREADABLE,
    H_AVX_UNUSED_UNREADABLE,
    H_MAGIC2_UNREADABLE,
    H_MAGIC1_BAD_MAGIC2_UNREADABLE,
    H_BAD_RESERVED0,
    H_HEADER_TAIL,
    H_RO_IMAGE,
};

/* A page of its own for H_RO_IMAGE: the handler moves the image there,
 * edits it and makes the page read-only before its sigreturn. */
static unsigned char ro_page[4096] __attribute__((aligned(4096)));

/* Where the handler moves the image: 64-byte aligned plus an offset. */
static unsigned char moved[2 * 4096] __attribute__((aligned(64)));
/* Two pages, the second unmapped: an image 640 bytes below its end has
 * its AVX component (576..832) straddle the hole. */
static unsigned char *hole_page;

static void move_image(ucontext_t *uc, unsigned char *to, unsigned len) {
    memcpy(to, uc->uc_mcontext.fpregs, len);
    uc->uc_mcontext.fpregs = (void *)to;
}

static void handler(int sig, siginfo_t *si, void *ctx) {
    (void)sig;
    (void)si;
    ucontext_t *uc = ctx;
    unsigned char *fp = (unsigned char *)uc->uc_mcontext.fpregs;
    unsigned size = xsave_size(), avx = avx_offset();
    h_ucflags = uc->uc_flags;
    h_fpaddr = (uint64_t)fp;
    memcpy((void *)&h_magic1, fp + 464, 4);
    memcpy((void *)&h_ext, fp + 468, 4);
    memcpy((void *)&h_xfeatures, fp + 472, 8);
    memcpy((void *)&h_xsize, fp + 480, 4);
    memcpy((void *)&h_magic2, fp + size, 4);
    memcpy((void *)&h_xbv, fp + 512, 8);
    memcpy((void *)h_lo, fp + 160 + 7 * 16, 16);
    memcpy((void *)h_hi, fp + avx + 7 * 16, 16);
    uint64_t junk[4] = {~0ull, ~0ull, ~0ull, ~0ull};
    switch (h_mode) {
    case H_CLOBBER:
        __asm__ volatile("vmovdqu (%0), %%ymm7" ::"r"(junk) : "xmm7");
        break;
    case H_EDIT_HI: {
        uint64_t v[2] = {0x1122334455667788ull, 0x99aabbccddeeff00ull};
        memcpy(fp + avx + 7 * 16, v, 16);
        __asm__ volatile("vmovdqu (%0), %%ymm7" ::"r"(junk) : "xmm7");
        break;
    }
    case H_BAD_BV: {
        uint64_t bv = h_xbv | (1ull << 20);
        memcpy(fp + 512, &bv, 8);
        break;
    }
    case H_BAD_MAGIC2:
        fp[size] ^= 0xff;
        __asm__ volatile("vmovdqu (%0), %%ymm7" ::"r"(junk) : "xmm7");
        break;
    case H_BAD_XCOMP: {
        uint64_t one = 1;
        memcpy(fp + 520, &one, 8);
        break;
    }
    case H_BAD_PTR:
        /* an image at the very top of the address space */
        uc->uc_mcontext.fpregs = (void *)0xfffffffffffffe00ull;
        break;
    case H_XSAVE_AT_16:
        /* a whole XSAVE image (MAGIC2 too) 16- but not 64-byte aligned */
        move_image(uc, moved + 16, size + 4);
        __asm__ volatile("vmovdqu (%0), %%ymm7" ::"r"(junk) : "xmm7");
        break;
    case H_FX_AT_16:
    case H_FX_AT_8: {
        /* an FXSAVE-only image (no MAGIC1) */
        unsigned char *to = moved + (h_mode == H_FX_AT_16 ? 16 : 8);
        move_image(uc, to, 512);
        memset(to + 464, 0, 4);
        __asm__ volatile("vmovdqu (%0), %%ymm7" ::"r"(junk) : "xmm7");
        break;
    }
    case H_AVX_UNREADABLE:
    case H_AVX_UNUSED_UNREADABLE: {
        /* xstate_size 576 (legacy area and header), MAGIC2 right after */
        unsigned char *to = hole_page + 4096 - 640;
        move_image(uc, to, 576);
        unsigned xs = 576, ext = 580, m2 = FP_XSTATE_MAGIC2;
        memcpy(to + 468, &ext, 4);
        memcpy(to + 480, &xs, 4);
        memcpy(to + 576, &m2, 4);
        if (h_mode == H_AVX_UNUSED_UNREADABLE) {
            uint64_t bv = 3; /* x87 and SSE only: XRSTOR reads nothing past the header */
            memcpy(to + 512, &bv, 8);
        }
        __asm__ volatile("vmovdqu (%0), %%ymm7" ::"r"(junk) : "xmm7");
        break;
    }
    case H_MAGIC2_UNREADABLE:
    case H_MAGIC1_BAD_MAGIC2_UNREADABLE: {
        /* xstate_size 576 with the image's last byte the page's: MAGIC2
         * would be the first word of the unmapped page (without MAGIC1
         * the image is FXSAVE-only and MAGIC2 is never read) */
        unsigned char *to = hole_page + 4096 - 576;
        move_image(uc, to, 576);
        unsigned xs = 576, ext = 580;
        memcpy(to + 468, &ext, 4);
        memcpy(to + 480, &xs, 4);
        if (h_mode == H_MAGIC1_BAD_MAGIC2_UNREADABLE) to[464] ^= 0xff;
        __asm__ volatile("vmovdqu (%0), %%ymm7" ::"r"(junk) : "xmm7");
        break;
    }
    case H_BAD_RESERVED0:
        /* the header's word after XCOMP_BV (XRSTOR checks bytes 8..23) */
        fp[512 + 16] = 1;
        break;
    case H_HEADER_TAIL:
        /* a header byte past 23: XRSTOR under QEMU does not look at it */
        fp[512 + 40] = 1;
        __asm__ volatile("vmovdqu (%0), %%ymm7" ::"r"(junk) : "xmm7");
        break;
    case H_RO_IMAGE: {
        unsigned char *to = ro_page + 1024;
        move_image(uc, to, size + 4);
        uint64_t v[2] = {0x0123456789abcdefull, 0xfedcba9876543210ull};
        memcpy(to + avx + 7 * 16, v, 16);
        mprotect(ro_page, 4096, PROT_READ);
        __asm__ volatile("vmovdqu (%0), %%ymm7" ::"r"(junk) : "xmm7");
        break;
    }
    }
}

static void set_handler_flags(int mode, int flags) {
    h_mode = mode;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | flags;
    sigaction(SIGUSR1, &sa, 0);
}

static void set_handler(int mode) {
    set_handler_flags(mode, 0);
}

KT_CASE(signal_handler_clobber_restored) {
    if (!avx_usable()) KT_SKIP("no AVX");
    uint64_t in[4], out[4];
    pattern(in, 5);
    set_handler(H_CLOBBER);
    ymm7_across_signal(in, out, SIGUSR1);
    KT_EQ(out[0], in[0]);
    KT_EQ(out[1], in[1]);
    KT_EQ(out[2], in[2]);
    KT_EQ(out[3], in[3]);
}

/* Linux's fpu__clear_user_states(): a handler starts with the initial
 * MXCSR (0x1f80) whatever the interrupted code set; sigreturn puts the
 * interrupted code's back. */
static volatile unsigned mx_in_handler;

static void mxcsr_handler(int sig) {
    (void)sig;
    unsigned v;
    __asm__ volatile("stmxcsr %0" : "=m"(v));
    mx_in_handler = v;
    v = 0x1f80 | (1u << 13); /* round down, so the old value is visible */
    __asm__ volatile("ldmxcsr %0" ::"m"(v));
}

KT_CASE(handler_starts_with_initial_mxcsr) {
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = mxcsr_handler;
    KT_SYS_OK(sigaction(SIGUSR2, &sa, &old));
    unsigned saved, set = 0x1f80 | (3u << 13), after;
    __asm__ volatile("stmxcsr %0" : "=m"(saved));
    __asm__ volatile("ldmxcsr %0" ::"m"(set));
    raise(SIGUSR2);
    __asm__ volatile("stmxcsr %0" : "=m"(after));
    __asm__ volatile("ldmxcsr %0" ::"m"(saved));
    sigaction(SIGUSR2, &old, 0);
    KT_EQ(mx_in_handler, 0x1f80u);
    KT_EQ(after, set);
}

KT_CASE(frame_has_linux_xstate_magic) {
    if (!avx_usable()) KT_SKIP("no AVX");
    uint64_t in[4], out[4];
    pattern(in, 6);
    set_handler(H_LOOK);
    ymm7_across_signal(in, out, SIGUSR1);
    unsigned size = xsave_size();
    KT_EQ(h_ucflags & UC_FP_XSTATE, UC_FP_XSTATE);
    KT_EQ(h_fpaddr % 64, 0);
    KT_EQ(h_magic1, FP_XSTATE_MAGIC1);
    KT_EQ(h_xsize, size);
    KT_EQ(h_ext, size + 4);
    KT_EQ(h_xfeatures, xgetbv0());
    KT_EQ(h_magic2, FP_XSTATE_MAGIC2);
    KT_EQ(h_xbv & 7, 7);
    KT_EQ(h_lo[0], in[0]);
    KT_EQ(h_lo[1], in[1]);
    KT_EQ(h_hi[0], in[2]);
    KT_EQ(h_hi[1], in[3]);
}

KT_CASE(sigreturn_loads_the_frames_ymm) {
    if (!avx_usable()) KT_SKIP("no AVX");
    uint64_t in[4], out[4];
    pattern(in, 7);
    set_handler(H_EDIT_HI);
    ymm7_across_signal(in, out, SIGUSR1);
    KT_EQ(out[0], in[0]);
    KT_EQ(out[1], in[1]);
    KT_EQ(out[2], 0x1122334455667788ull);
    KT_EQ(out[3], 0x99aabbccddeeff00ull);
}

KT_CASE(sigreturn_without_magic2_is_fxsave_only) {
    if (!avx_usable()) KT_SKIP("no AVX");
    uint64_t in[4], out[4];
    pattern(in, 8);
    set_handler(H_BAD_MAGIC2);
    ymm7_across_signal(in, out, SIGUSR1);
    /* XMM from the legacy area, the upper halves in their init state */
    KT_EQ(out[0], in[0]);
    KT_EQ(out[1], in[1]);
    KT_EQ(out[2], 0);
    KT_EQ(out[3], 0);
}

static int bad_frame_status(int mode) {
    pid_t c = fork();
    if (c == 0) {
        uint64_t in[4], out[4];
        pattern(in, 9);
        set_handler(mode);
        ymm7_across_signal(in, out, SIGUSR1);
        _exit(0);
    }
    int st = 0;
    waitpid(c, &st, 0);
    return st;
}

KT_CASE(sigreturn_refuses_bad_xsave_header) {
    if (!avx_usable()) KT_SKIP("no AVX");
    int st = bad_frame_status(H_BAD_BV);
    KT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "status %s", kt_status_str(st));
    st = bad_frame_status(H_BAD_XCOMP);
    KT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "status %s", kt_status_str(st));
    st = bad_frame_status(H_BAD_PTR);
    KT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "status %s", kt_status_str(st));
}

/* XRSTOR refuses a header whose bytes 8..23 (XCOMP_BV and the next
 * word) are not zero: the sigreturn fails, SIGSEGV. A nonzero byte past
 * them is not looked at by QEMU's XRSTOR (which the suite runs on): the
 * restore goes on, on Linux as here. */
KT_CASE(sigreturn_checks_header_bytes_8_to_23) {
    if (!avx_usable()) KT_SKIP("no AVX");
    int st = bad_frame_status(H_BAD_RESERVED0);
    KT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "status %s", kt_status_str(st));
    uint64_t in[4], out[4];
    pattern(in, 13);
    set_handler(H_HEADER_TAIL);
    ymm7_across_signal(in, out, SIGUSR1);
    KT_EQ(out[0], in[0]);
    KT_EQ(out[1], in[1]);
    KT_EQ(out[2], in[2]);
    KT_EQ(out[3], in[3]);
}

/* An image on a read-only page restores (sigreturn only reads it). */
KT_CASE(sigreturn_from_a_read_only_image) {
    if (!avx_usable()) KT_SKIP("no AVX");
    uint64_t in[4], out[4];
    pattern(in, 14);
    set_handler(H_RO_IMAGE);
    ymm7_across_signal(in, out, SIGUSR1);
    KT_SYS_OK(mprotect(ro_page, 4096, PROT_READ | PROT_WRITE));
    KT_EQ(out[0], in[0]);
    KT_EQ(out[1], in[1]);
    KT_EQ(out[2], 0x0123456789abcdefull);
    KT_EQ(out[3], 0xfedcba9876543210ull);
}

/* Frames on an alternate stack whose top puts the FPU image (top minus
 * the image and MAGIC2, rounded down to 64: fpu__alloc_mathframe) at
 * 64 bytes into a page (all on that page) and at 2048 (across two pages
 * with an image of more than 2048 bytes): the frame holds the interrupted
 * ymm7 and Linux's magic words, and the sigreturn loads the frame's. */
KT_CASE(frames_on_one_page_and_across_two) {
    if (!avx_usable()) KT_SKIP("no AVX");
    unsigned fsz = xsave_size() + 4;
    unsigned char *base = mmap(0, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KT_TRUE(base != MAP_FAILED, "mmap");
    unsigned offs[2] = {64, 2048};
    for (int i = 0; i < 2; i++) {
        unsigned long top = 4096 + offs[i] + fsz;
        stack_t ss = {.ss_sp = base, .ss_flags = 0, .ss_size = top};
        KT_SYS_OK(sigaltstack(&ss, 0));
        uint64_t in[4], out[4];
        pattern(in, 15 + i);
        set_handler_flags(H_LOOK, SA_ONSTACK);
        ymm7_across_signal(in, out, SIGUSR1);
        KT_EQ(h_fpaddr, (uint64_t)(base + 4096 + offs[i]));
        KT_EQ(h_fpaddr % 4096 + fsz > 4096, offs[i] + fsz > 4096);
        KT_EQ(h_magic1, FP_XSTATE_MAGIC1);
        KT_EQ(h_magic2, FP_XSTATE_MAGIC2);
        KT_EQ(h_xfeatures, xgetbv0());
        KT_EQ(h_xbv & 7, 7);
        KT_EQ(h_lo[0], in[0]);
        KT_EQ(h_lo[1], in[1]);
        KT_EQ(h_hi[0], in[2]);
        KT_EQ(h_hi[1], in[3]);
        for (int k = 0; k < 4; k++) KT_EQ(out[k], in[k]);
        set_handler_flags(H_EDIT_HI, SA_ONSTACK);
        ymm7_across_signal(in, out, SIGUSR1);
        KT_EQ(out[0], in[0]);
        KT_EQ(out[1], in[1]);
        KT_EQ(out[2], 0x1122334455667788ull);
        KT_EQ(out[3], 0x99aabbccddeeff00ull);
    }
    stack_t off = {.ss_flags = SS_DISABLE};
    KT_SYS_OK(sigaltstack(&off, 0));
    munmap(base, 4 * 4096);
}

/* fpu__restore_sig: XRSTOR of an image not 64-byte aligned and FXRSTOR
 * of one not 16-byte aligned fault (#GP): the sigreturn fails, SIGSEGV.
 * An FXSAVE-only image needs 16 bytes of alignment only. */
KT_CASE(sigreturn_checks_the_images_alignment) {
    if (!avx_usable()) KT_SKIP("no AVX");
    int st = bad_frame_status(H_XSAVE_AT_16);
    KT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "status %s", kt_status_str(st));
    st = bad_frame_status(H_FX_AT_8);
    KT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "status %s", kt_status_str(st));
    uint64_t in[4], out[4];
    pattern(in, 10);
    set_handler(H_FX_AT_16);
    ymm7_across_signal(in, out, SIGUSR1);
    KT_EQ(out[0], in[0]);
    KT_EQ(out[1], in[1]);
    KT_EQ(out[2], 0);
    KT_EQ(out[3], 0);
}

/* A component XRSTOR loads (its bit in xfeatures and XSTATE_BV) that is
 * not readable makes the sigreturn fail (the restore's page fault, then
 * fault_in_readable of the image fails): SIGSEGV, not a zero fill. The
 * same unreadable bytes are not read when XSTATE_BV leaves AVX out. */
KT_CASE(sigreturn_faults_on_an_unreadable_component) {
    if (!avx_usable()) KT_SKIP("no AVX");
    hole_page = mmap(0, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KT_TRUE(hole_page != MAP_FAILED, "mmap");
    KT_SYS_OK(munmap(hole_page + 4096, 4096));
    int st = bad_frame_status(H_AVX_UNREADABLE);
    KT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "status %s", kt_status_str(st));
    uint64_t in[4], out[4];
    pattern(in, 11);
    set_handler(H_AVX_UNUSED_UNREADABLE);
    ymm7_across_signal(in, out, SIGUSR1);
    KT_EQ(out[0], in[0]);
    KT_EQ(out[1], in[1]);
    KT_EQ(out[2], 0);
    KT_EQ(out[3], 0);
    munmap(hole_page, 4096);
}

/* check_xstate_in_sigframe reads MAGIC2 at fpstate + xstate_size once
 * MAGIC1 and the sizes are sane: a fault there fails the sigreturn
 * (SIGSEGV); without MAGIC1 the image is FXSAVE-only and nothing past its
 * 512 bytes is read. */
KT_CASE(sigreturn_faults_on_an_unreadable_magic2) {
    if (!avx_usable()) KT_SKIP("no AVX");
    hole_page = mmap(0, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KT_TRUE(hole_page != MAP_FAILED, "mmap");
    KT_SYS_OK(munmap(hole_page + 4096, 4096));
    int st = bad_frame_status(H_MAGIC2_UNREADABLE);
    KT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "status %s", kt_status_str(st));
    uint64_t in[4], out[4];
    pattern(in, 12);
    set_handler(H_MAGIC1_BAD_MAGIC2_UNREADABLE);
    ymm7_across_signal(in, out, SIGUSR1);
    KT_EQ(out[0], in[0]);
    KT_EQ(out[1], in[1]);
    KT_EQ(out[2], 0);
    KT_EQ(out[3], 0);
    munmap(hole_page, 4096);
}

/* rt_sigreturn reads uc_flags, uc_stack, the sigcontext and uc_sigmask
 * of the frame below its stack pointer (access_ok over the whole frame
 * is only a range check): a frame whose siginfo, past uc_sigmask, lies
 * on an unmapped page restores as any other. The handler copies the
 * kernel's ucontext bytes to the end of a page followed by a hole and
 * calls rt_sigreturn with its stack pointer there. */
static volatile int fake_seen;

static void fake_frame_handler(int sig, siginfo_t *si, void *ctx) {
    (void)sig;
    (void)si;
    unsigned char *uc = hole_page + 4096 - 304;
    memcpy(uc, ctx, 304);
    fake_seen = 1;
    __asm__ volatile("mov %0, %%rsp\n\tmov $15, %%eax\n\tsyscall" ::"r"(uc) : "memory");
    __builtin_unreachable();
}

KT_CASE(sigreturn_reads_no_siginfo) {
    hole_page = mmap(0, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KT_TRUE(hole_page != MAP_FAILED, "mmap");
    KT_SYS_OK(munmap(hole_page + 4096, 4096));
    pid_t c = fork();
    if (c == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = fake_frame_handler;
        sa.sa_flags = SA_SIGINFO;
        sigaction(SIGUSR1, &sa, 0);
        raise(SIGUSR1);
        /* back here through the copied frame, SIGUSR1 unblocked again */
        sigset_t now;
        sigprocmask(SIG_BLOCK, 0, &now);
        _exit(fake_seen == 1 && !sigismember(&now, SIGUSR1) ? 0 : 2);
    }
    KT_WAIT_STATUS(c, 0);
    munmap(hole_page, 4096);
}

static void never_runs(int sig) {
    (void)sig;
    _exit(3);
}

/* A frame whose FPU image ends on a read-only page (the alternate stack's
 * top) cannot be written: the XSAVE into it faults, setup_rt_frame fails
 * and force_sigsegv kills (no SIGSEGV handler), the handler never runs. */
KT_CASE(frame_with_an_unwritable_image_end_is_sigsegv) {
    if (!avx_usable()) KT_SKIP("no AVX");
    pid_t c = fork();
    if (c == 0) {
        unsigned char *base = mmap(0, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (base == MAP_FAILED) _exit(4);
        if (mprotect(base + 3 * 4096, 4096, PROT_READ)) _exit(5);
        /* the top 1024 bytes into the read-only page: the image's start
         * and the frame below it are writable, its end and MAGIC2 not */
        stack_t ss = {.ss_sp = base, .ss_flags = 0, .ss_size = 3 * 4096 + 1024};
        if (sigaltstack(&ss, 0)) _exit(6);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = never_runs;
        sa.sa_flags = SA_ONSTACK;
        sigaction(SIGUSR1, &sa, 0);
        raise(SIGUSR1);
        _exit(0);
    }
    int st = 0;
    KT_SYS_OK(waitpid(c, &st, 0));
    KT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "status %s", kt_status_str(st));
}

KT_CASE(pkru_after_exec_as_linux) {
    unsigned r[4];
    cpuid(7, 0, r);
    if (!((r[2] >> 4) & 1)) KT_SKIP("no OSPKE");
    unsigned pkru, edx;
    __asm__ volatile(".byte 0x0f, 0x01, 0xee" : "=a"(pkru), "=d"(edx) : "c"(0));
    /* Debian's 6.1 under QEMU -cpu max starts programs with PKRU 0 */
    KT_EQ(pkru, 0u);
}

KT_CASE(at_minsigstksz_as_linux) {
    if (!osxsave()) KT_SKIP("no XSAVE");
    /* Linux with IA32_EMULATION (Debian): sigframe_ia32 732 + 15 padding
     * + the image and MAGIC2 + fregs_state 112 + 63, rounded up to 16 */
    unsigned long want = (732 + 15 + xsave_size() + 4 + 112 + 63 + 15) & ~15ul;
    KT_EQ(getauxval(KT_AT_MINSIGSTKSZ), want);
}

static void body_ymm(void) {
    uint64_t in[4], out[4];
    pattern(in, 10);
    ymm7_across_signal(in, out, SIGSTOP);
    _exit(out[2] == 0xabcdefull && out[3] == 0x1234ull && out[0] == in[0] ? 0 : 1);
}

KT_CASE(regset_xstate_get_and_set) {
    if (!avx_usable()) KT_SKIP("no AVX");
    unsigned size = xsave_size(), avx = avx_offset();
    static unsigned char buf[8192];
    uint64_t in[4];
    pattern(in, 10);
    pid_t c = kt_start_traced(body_ymm);
    if (c < 0) return;
    int st = 0;
    ptrace(PTRACE_CONT, c, 0, 0);
    KT_EQ(waitpid(c, &st, 0), c);
    KT_EQ(st, kt_stopped(SIGSTOP));
    memset(buf, 0xcc, sizeof buf);
    struct iovec iov = {buf, sizeof buf};
    KT_SYS_RET(ptrace(PTRACE_GETREGSET, c, (void *)NT_X86_XSTATE, &iov), 0);
    KT_EQ(iov.iov_len, size);
    KT_EQ(buf[size], 0xcc);
    uint64_t xcr0, bv, v[2];
    /* sw_usable_bytes: XCR0 in the first word (USER_XSTATE_XCR0_WORD) */
    memcpy(&xcr0, buf + 464, 8);
    memcpy(&bv, buf + 512, 8);
    KT_EQ(xcr0, xgetbv0());
    KT_EQ(bv & 4, 4);
    memcpy(v, buf + 160 + 7 * 16, 16);
    KT_EQ(v[0], in[0]);
    KT_EQ(v[1], in[1]);
    memcpy(v, buf + avx + 7 * 16, 16);
    KT_EQ(v[0], in[2]);
    KT_EQ(v[1], in[3]);
    /* a short buffer is refused (a whole image is needed) */
    struct iovec shrt = {buf, size - 8};
    KT_SYS_ERR(ptrace(PTRACE_SETREGSET, c, (void *)NT_X86_XSTATE, &shrt), EFAULT);
    /* a header bit outside XCR0 */
    uint64_t badbv = bv | (1ull << 20);
    memcpy(buf + 512, &badbv, 8);
    iov.iov_len = size;
    KT_SYS_ERR(ptrace(PTRACE_SETREGSET, c, (void *)NT_X86_XSTATE, &iov), EINVAL);
    memcpy(buf + 512, &bv, 8);
    v[0] = 0xabcdef;
    v[1] = 0x1234;
    memcpy(buf + avx + 7 * 16, v, 16);
    KT_SYS_RET(ptrace(PTRACE_SETREGSET, c, (void *)NT_X86_XSTATE, &iov), 0);
    KT_EQ(iov.iov_len, size);
    ptrace(PTRACE_CONT, c, 0, 0);
    KT_EQ(waitpid(c, &st, 0), c);
    KT_STATUS(st, 0);
}

static int cpuinfo_has(const char *flag) {
    static char text[16384];
    int fd = open("/proc/cpuinfo", O_RDONLY);
    if (fd < 0) return -1;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0) return -1;
    text[n] = 0;
    char *l = strstr(text, "\nflags\t\t:");
    if (!l) return -1;
    char *end = strchr(l + 1, '\n');
    if (end) *end = 0;
    char want[64];
    snprintf(want, sizeof want, " %s", flag);
    for (char *p = l; (p = strstr(p, want)); p++)
        if (p[strlen(want)] == ' ' || p[strlen(want)] == 0) return 1;
    return 0;
}

KT_CASE(cpuinfo_flags_follow_cpuid) {
    unsigned r1[4], r7[4];
    cpuid(1, 0, r1);
    cpuid(7, 0, r7);
    int avx = avx_usable();
    KT_EQ(cpuinfo_has("xsave"), (int)((r1[2] >> 26) & 1));
    KT_EQ(cpuinfo_has("avx"), avx);
    KT_EQ(cpuinfo_has("avx2"), avx && ((r7[1] >> 5) & 1));
    KT_EQ(cpuinfo_has("sse2"), 1);
}

KT_MAIN()
