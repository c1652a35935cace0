/*
 * tcgstat: a QEMU TCG plugin (QEMU 7.2's plugin API, version 1) that counts,
 * between the bench harness's window markers (user/bench/bench.h), what TCG
 * charges beyond the guest's instruction count: translation-block (TB)
 * executions and how blocks end, translations (code generation), memory
 * accesses, MMIO accesses, distinct pages and TBs per CR3 epoch (soft-TLB
 * refills and jump-cache misses after a flush), a simulated soft TLB, and
 * the executions of instructions that TCG runs through helpers or that end
 * a block (CR3 writes, invlpg, wrmsr, swapgs, sti, popf, port I/O, XSAVE...).
 *
 * Built by `cargo xtask tcgstat` (gcc -shared -fPIC -O2); run as
 * `-plugin PATH/tcgstat.so,out=FILE[,mem=off]`. One line per window is
 * written to FILE: `window N key=value ...`. See docs/bench.md "wall35".
 *
 * The declarations below are the plugin API's, written from its
 * documentation (QEMU's docs/devel/tcg-plugins.rst and the API reference):
 * Debian's QEMU ships no header for it.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the API (version 1) ---- */
typedef uint64_t qemu_plugin_id_t;
typedef struct {
    const char *target_name;
    struct {
        int min;
        int cur;
    } version;
    bool system_emulation;
    union {
        struct {
            int smp_vcpus;
            int max_vcpus;
        } system;
    };
} qemu_info_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
struct qemu_plugin_hwaddr;
typedef uint32_t qemu_plugin_meminfo_t;
enum qemu_plugin_cb_flags { CB_NO_REGS, CB_R_REGS, CB_RW_REGS };
enum qemu_plugin_mem_rw { MEM_R = 1, MEM_W, MEM_RW };
enum qemu_plugin_op { INLINE_ADD_U64 };
typedef void (*udata_cb_t)(unsigned int vcpu, void *udata);
typedef void (*tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*mem_cb_t)(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr, void *udata);
typedef void (*atexit_cb_t)(qemu_plugin_id_t id, void *udata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, udata_cb_t cb, enum qemu_plugin_cb_flags f,
                                          void *udata);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op, void *ptr,
                                              uint64_t imm);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn, udata_cb_t cb,
                                            enum qemu_plugin_cb_flags f, void *udata);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn, enum qemu_plugin_op op, void *ptr,
                                                uint64_t imm);
void qemu_plugin_register_vcpu_mem_cb(struct qemu_plugin_insn *insn, mem_cb_t cb, enum qemu_plugin_cb_flags f,
                                      enum qemu_plugin_mem_rw rw, void *udata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, atexit_cb_t cb, void *udata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
bool qemu_plugin_mem_is_store(qemu_plugin_meminfo_t info);
struct qemu_plugin_hwaddr *qemu_plugin_get_hwaddr(qemu_plugin_meminfo_t info, uint64_t vaddr);
bool qemu_plugin_hwaddr_is_io(const struct qemu_plugin_hwaddr *h);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/* ---- what is counted ---- */
/* the bench harness's markers: `nopl DISP32(%rax)` (0f 1f 80 + disp32) */
#define MARK_START 0x7c9a5701u
#define MARK_END 0x7c9a5702u

enum cat {
    C_CR3W, C_CRW, C_INVLPG, C_SWAPGS, C_WRMSR, C_RDMSR, C_RDTSC, C_CPUID, C_STI, C_CLI, C_POPF, C_HLT,
    C_PORTIO, C_IRET, C_SYSRET, C_SYSCALL, C_XSAVE, C_XRSTOR, C_FXSAVE, C_FXRSTOR, C_FSGSBASE, C_LOCK,
    C_REPSTR, C_INT, C_NCAT
};
static const char *cat_name[C_NCAT] = {
    "cr3_writes", "cr_writes", "invlpg", "swapgs", "wrmsr", "rdmsr", "rdtsc", "cpuid", "sti", "cli", "popf", "hlt",
    "port_io", "iret", "sysret", "syscall", "xsave", "xrstor", "fxsave", "fxrstor", "fsgsbase", "locked",
    "rep_string", "int",
};
/* how a block ends */
enum endk { E_RET, E_INDIRECT, E_DIRECT, E_OTHER, E_N };
static const char *end_name[E_N] = {"tb_end_ret", "tb_end_indirect", "tb_end_direct", "tb_end_other"};

/* raw counters, bumped inline whatever the window (snapshots at the markers) */
struct raw {
    uint64_t insns, tbs, cats[C_NCAT], ends[E_N];
};
static struct raw raw;
static struct raw at_start;

/* counted only inside a window (callbacks) */
struct win {
    uint64_t translations, loads, stores, mmio, pages_epoch, tbs_epoch, codepages_epoch, tlb_miss, epochs;
    uint64_t lookups, cross_page, unexpected, jc_miss;
};
static struct win win;
static bool in_window;
static uint64_t windows;
/* every translation, inside a window or not (the `before_first_window` line) */
static uint64_t translations_all;
static bool first_window_seen;
static FILE *out;
static bool want_mem = true;

/* a generation-tagged hash set: "seen in this epoch" */
#define SET_BITS 16
struct set {
    uint64_t key[1u << SET_BITS];
    uint32_t gen[1u << SET_BITS];
};
static struct set pages, tbset, codepages, klines;
static uint32_t epoch = 1;

/* true when key was not yet in the set this epoch */
static bool set_add(struct set *s, uint64_t key) {
    uint64_t h = key * 0x9e3779b97f4a7c15ull;
    uint32_t i = (uint32_t)(h >> (64 - SET_BITS));
    for (uint32_t n = 0; n < (1u << SET_BITS); n++, i = (i + 1) & ((1u << SET_BITS) - 1)) {
        if (s->gen[i] != epoch) {
            s->gen[i] = epoch;
            s->key[i] = key;
            return true;
        }
        if (s->key[i] == key) return false;
    }
    return false;
}

/* a soft TLB like QEMU's: per MMU index, direct mapped by page number, and
 * an 8-entry victim TLB; flushed whole at a CR3 write */
#define TLB_BITS 8
#define NIDX 16
static uint64_t tlb[NIDX][1u << TLB_BITS];
static uint64_t vtlb[NIDX][8];
static unsigned vnext[NIDX];

static void tlb_flush_all(void) {
    memset(tlb, 0xff, sizeof tlb);
    memset(vtlb, 0xff, sizeof vtlb);
}

static void tlb_access(unsigned idx, uint64_t page) {
    uint64_t *e = &tlb[idx][page & ((1u << TLB_BITS) - 1)];
    if (*e == page) return;
    for (int i = 0; i < 8; i++) {
        if (vtlb[idx][i] == page) { /* swap with the victim */
            vtlb[idx][i] = *e;
            *e = page;
            return;
        }
    }
    win.tlb_miss++;
    vtlb[idx][vnext[idx]++ & 7] = *e;
    *e = page;
}

/* per-window counts by address pair (a block's start, the next block's), for
 * the lists of the most frequent cross-page jumps and exits at the window's end */
#define PAIR_BITS 14
struct pairs {
    uint64_t a[1u << PAIR_BITS], b[1u << PAIR_BITS], n[1u << PAIR_BITS];
    uint32_t gen[1u << PAIR_BITS];
};
static struct pairs xpage, exits, lockedp;
/* per-window counts of epochs in which a page was touched (data: the page
 * number << 4 | the MMU index; code: the page number) and of jump-cache
 * misses by block address, for the lists of the hot pages and misses; and
 * of the 64-byte lines of the kernel image's data (its statics) */
static struct pairs datapg, codepg, jcmiss, kline;
static uint32_t pair_gen = 1;

static void pair_add(struct pairs *t, uint64_t a, uint64_t b) {
    uint64_t h = (a * 0x9e3779b97f4a7c15ull) ^ (b * 0xc2b2ae3d27d4eb4full);
    uint32_t i = (uint32_t)(h >> (64 - PAIR_BITS));
    for (uint32_t k = 0; k < (1u << PAIR_BITS); k++, i = (i + 1) & ((1u << PAIR_BITS) - 1)) {
        if (t->gen[i] != pair_gen) {
            t->gen[i] = pair_gen;
            t->a[i] = a;
            t->b[i] = b;
            t->n[i] = 1;
            return;
        }
        if (t->a[i] == a && t->b[i] == b) {
            t->n[i]++;
            return;
        }
    }
}

/* prints the `top` largest counts of t as `NAME SRC DST COUNT` lines
 * (`NAME KEY COUNT` for tables keyed by one value, b = 0) */
static void pair_top(struct pairs *t, const char *name, int top) {
    static bool used[1u << PAIR_BITS];
    memset(used, 0, sizeof used);
    for (int k = 0; k < top; k++) {
        uint32_t best = 0;
        uint64_t bn = 0;
        for (uint32_t i = 0; i < (1u << PAIR_BITS); i++)
            if (t->gen[i] == pair_gen && !used[i] && t->n[i] > bn) {
                bn = t->n[i];
                best = i;
            }
        if (bn == 0) break;
        used[best] = true;
        if (t->b[best] == 0)
            fprintf(out, "%s %llx %llu\n", name, (unsigned long long)t->a[best], (unsigned long long)bn);
        else
            fprintf(out, "%s %llx %llx %llu\n", name, (unsigned long long)t->a[best],
                    (unsigned long long)t->b[best], (unsigned long long)bn);
    }
}

/* QEMU's jump cache: 4096 entries per vCPU, looked up whenever a block is
 * entered other than through a chained direct jump (returns, indirect
 * jumps, jumps to another page, exits to the main loop); emptied at a TLB
 * flush (CR3 write) */
#define JC_BITS 12
static uint64_t jcache[1u << JC_BITS];
static void new_epoch(void) {
    epoch++;
    tlb_flush_all();
    memset(jcache, 0, sizeof jcache);
    if (in_window) win.epochs++;
}

static void report(void) {
    fprintf(out, "window %llu insns=%llu tbs=%llu", (unsigned long long)windows,
            (unsigned long long)(raw.insns - at_start.insns), (unsigned long long)(raw.tbs - at_start.tbs));
    for (int e = 0; e < E_N; e++)
        fprintf(out, " %s=%llu", end_name[e], (unsigned long long)(raw.ends[e] - at_start.ends[e]));
    for (int c = 0; c < C_NCAT; c++)
        fprintf(out, " %s=%llu", cat_name[c], (unsigned long long)(raw.cats[c] - at_start.cats[c]));
    fprintf(out,
            " translations=%llu loads=%llu stores=%llu mmio=%llu data_pages_per_epoch=%llu tbs_per_epoch=%llu "
            "code_pages_per_epoch=%llu tlb_misses=%llu epochs=%llu lookups=%llu cross_page=%llu "
            "unexpected_entries=%llu jcache_misses=%llu\n",
            (unsigned long long)win.translations, (unsigned long long)win.loads, (unsigned long long)win.stores,
            (unsigned long long)win.mmio, (unsigned long long)win.pages_epoch, (unsigned long long)win.tbs_epoch,
            (unsigned long long)win.codepages_epoch, (unsigned long long)win.tlb_miss, (unsigned long long)win.epochs,
            (unsigned long long)win.lookups, (unsigned long long)win.cross_page, (unsigned long long)win.unexpected,
            (unsigned long long)win.jc_miss);
    fflush(out);
}

static void on_mark(unsigned int vcpu, void *udata) {
    (void)vcpu;
    bool start = (uintptr_t)udata == 1;
    if (start && !in_window) {
        if (!first_window_seen) {
            /* what the boot, init and the harness's start cost before the
             * first batch: instructions, blocks and code generation (each
             * translation is host work that instructions do not show) */
            first_window_seen = true;
            fprintf(out, "before_first_window insns=%llu tbs=%llu translations=%llu\n",
                    (unsigned long long)raw.insns, (unsigned long long)raw.tbs,
                    (unsigned long long)translations_all);
        }
        in_window = true;
        at_start = raw;
        memset(&win, 0, sizeof win);
        pair_gen++;
        epoch++; /* what the window touches is counted from its start */
    } else if (!start && in_window) {
        in_window = false;
        windows++;
        report();
        pair_top(&xpage, "cross_page", 40);
        pair_top(&exits, "exit", 20);
        pair_top(&lockedp, "locked_at", 40);
        pair_top(&jcmiss, "jcache_miss", 40);
        pair_top(&codepg, "code_page", 160);
        pair_top(&datapg, "data_page", 160);
        pair_top(&kline, "kernel_line", 400);
        fflush(out);
    }
}

/* a locked instruction executed (its address: the `locked_at` list) */
static void on_locked(unsigned int vcpu, void *udata) {
    (void)vcpu;
    if (in_window) pair_add(&lockedp, (uint64_t)(uintptr_t)udata, 0);
}

static void on_cr3(unsigned int vcpu, void *udata) {
    (void)vcpu;
    (void)udata;
    new_epoch();
}

/* what is known of a block at its translation: where it may go next */
struct tbinfo {
    uint64_t pc;
    uint64_t succ[2]; /* direct successors (0: none) */
    int end;          /* enum endk */
};
static const struct tbinfo *prev_tb;

static unsigned jc_hash(uint64_t pc) {
    uint64_t tmp = pc ^ (pc >> (12 - JC_BITS / 2));
    return (unsigned)((((tmp >> (12 - JC_BITS / 2)) & (((1u << (JC_BITS / 2)) - 1) << (JC_BITS / 2))) |
                       (tmp & ((1u << (JC_BITS / 2)) - 1))));
}

static void on_tb(unsigned int vcpu, void *udata) {
    (void)vcpu;
    const struct tbinfo *t = udata;
    const struct tbinfo *p = prev_tb;
    prev_tb = t;
    if (!in_window) return;
    uint64_t va = t->pc;
    if (set_add(&tbset, va)) win.tbs_epoch++;
    if (set_add(&codepages, va >> 12)) {
        win.codepages_epoch++;
        pair_add(&codepg, va >> 12, 0);
    }
    bool chained = false;
    if (p && (p->end == E_DIRECT) && (va == p->succ[0] || va == p->succ[1])) {
        if ((va >> 12) == (p->pc >> 12))
            chained = true;
        else {
            win.cross_page++;
            pair_add(&xpage, p->pc, va);
        }
    } else if (p && p->end == E_DIRECT) {
        win.unexpected++; /* an interrupt or exception came between */
    } else if (p && p->end == E_OTHER) {
        pair_add(&exits, p->pc, va);
    }
    if (!chained) {
        win.lookups++;
        unsigned h = jc_hash(va);
        if (jcache[h] != va) {
            win.jc_miss++;
            pair_add(&jcmiss, va, 0);
            jcache[h] = va;
        }
    }
}

static void on_mem(unsigned int vcpu, qemu_plugin_meminfo_t info, uint64_t vaddr, void *udata) {
    (void)vcpu;
    (void)udata;
    if (!in_window) return;
    if (qemu_plugin_mem_is_store(info))
        win.stores++;
    else
        win.loads++;
    struct qemu_plugin_hwaddr *h = qemu_plugin_get_hwaddr(info, vaddr);
    if (h && qemu_plugin_hwaddr_is_io(h)) win.mmio++;
    /* QEMU 7.2's meminfo: MemOpIdx (memop << 4 | mmu_idx) in the low 16 bits */
    unsigned idx = info & 0xf;
    uint64_t page = vaddr >> 12;
    if (set_add(&pages, page << 4 | idx)) {
        win.pages_epoch++;
        pair_add(&datapg, page << 4 | idx, 0);
    }
    if (vaddr >= 0xffffffff80000000ull && set_add(&klines, vaddr >> 6)) pair_add(&kline, vaddr >> 6 << 6, 0);
    tlb_access(idx, page);
}

/* decodes the instruction's class (-1: none) and whether it ends a block how */
static int classify(const uint8_t *p, size_t n, int *endk, uint32_t *mark) {
    size_t i = 0;
    bool rep = false, lock = false, opsz = false;
    *endk = E_OTHER;
    *mark = 0;
    while (i < n) {
        uint8_t b = p[i];
        if (b == 0xf3 || b == 0xf2) rep = true;
        else if (b == 0xf0) lock = true;
        else if (b == 0x66) opsz = true;
        else if (b == 0x67 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x26 || b == 0x64 || b == 0x65) {
        } else if ((b & 0xf0) == 0x40) {
        } else break;
        i++;
    }
    (void)opsz;
    if (i >= n) return -1;
    uint8_t op = p[i];
    uint8_t m = i + 1 < n ? p[i + 1] : 0;
    uint8_t m2 = i + 2 < n ? p[i + 2] : 0;
    unsigned reg = (m >> 3) & 7, mod = m >> 6;
    *endk = E_DIRECT; /* changed below; only the last instruction's counts */
    if (op == 0xc3 || op == 0xc2) { *endk = E_RET; return lock ? C_LOCK : -1; }
    if (op == 0xe8 || op == 0xe9 || op == 0xeb || (op >= 0x70 && op <= 0x7f) || (op >= 0xe0 && op <= 0xe3))
        return lock ? C_LOCK : -1;
    if (lock) return C_LOCK;
    if (op == 0xff && (reg == 2 || reg == 4)) { *endk = E_INDIRECT; return -1; }
    /* the instructions that end a block with an exit (not chained) */
    *endk = E_OTHER;
    if ((op == 0x86 || op == 0x87) && mod != 3) return C_LOCK;
    if (op == 0xfb) return C_STI;
    if (op == 0xfa) return C_CLI;
    if (op == 0x9d) return C_POPF;
    if (op == 0xf4) return C_HLT;
    if (op == 0xcf) return C_IRET;
    if (op == 0xcd || op == 0xcc) return C_INT;
    if ((op >= 0xe4 && op <= 0xe7) || (op >= 0xec && op <= 0xef) || (op >= 0x6c && op <= 0x6f)) return C_PORTIO;
    if (rep && ((op >= 0xa4 && op <= 0xa7) || (op >= 0xaa && op <= 0xaf))) return C_REPSTR;
    if (op != 0x0f) return -1;
    /* two-byte opcodes: op2 = m, its ModRM = m2 */
    uint8_t op2 = m;
    unsigned r2 = (m2 >> 3) & 7, mod2 = m2 >> 6;
    if (op2 == 0x1f && m2 == 0x80 && i + 6 < n) {
        memcpy(mark, p + i + 3, 4);
        return -1;
    }
    if (op2 == 0x22) return r2 == 3 ? C_CR3W : C_CRW;
    if (op2 == 0x01) {
        if (m2 == 0xf8) return C_SWAPGS;
        if (m2 == 0xf9) return C_RDTSC;
        if (mod2 != 3 && r2 == 7) return C_INVLPG;
        return -1;
    }
    if (op2 == 0x30) return C_WRMSR;
    if (op2 == 0x32) return C_RDMSR;
    if (op2 == 0x31) return C_RDTSC;
    if (op2 == 0xa2) return C_CPUID;
    if (op2 == 0x07) return C_SYSRET;
    if (op2 == 0x05) return C_SYSCALL;
    if (op2 == 0xae) {
        if (mod2 == 3 && rep && r2 <= 3) return C_FSGSBASE;
        if (mod2 != 3) {
            if (r2 == 0) return C_FXSAVE;
            if (r2 == 1) return C_FXRSTOR;
            if (r2 == 4 || r2 == 6) return C_XSAVE;
            if (r2 == 5) return C_XRSTOR;
        }
    }
    if (op2 == 0xc7 && mod2 != 3) {
        if (r2 == 4 || r2 == 5) return C_XSAVE;
        if (r2 == 3) return C_XRSTOR;
    }
    if (op2 == 0xb0 || op2 == 0xb1 || op2 == 0xc0 || op2 == 0xc1) return lock ? C_LOCK : -1;
    return -1;
}

/* the target of a direct jump, call or conditional jump (0: none) */
static uint64_t direct_target(const struct qemu_plugin_insn *insn) {
    const uint8_t *p = qemu_plugin_insn_data(insn);
    size_t n = qemu_plugin_insn_size(insn);
    uint64_t next = qemu_plugin_insn_vaddr(insn) + n;
    size_t i = 0;
    while (i < n && (p[i] == 0x66 || p[i] == 0x67 || p[i] == 0xf2 || p[i] == 0xf3 || p[i] == 0x2e || p[i] == 0x3e ||
                     (p[i] & 0xf0) == 0x40))
        i++;
    if (i >= n) return 0;
    uint8_t op = p[i];
    if (op == 0xeb || (op >= 0x70 && op <= 0x7f) || (op >= 0xe0 && op <= 0xe3))
        return i + 1 < n ? next + (uint64_t)(int64_t)(int8_t)p[i + 1] : 0;
    int32_t rel;
    if ((op == 0xe8 || op == 0xe9) && i + 5 <= n) {
        memcpy(&rel, p + i + 1, 4);
        return next + (uint64_t)(int64_t)rel;
    }
    if (op == 0x0f && i + 6 <= n && p[i + 1] >= 0x80 && p[i + 1] <= 0x8f) {
        memcpy(&rel, p + i + 2, 4);
        return next + (uint64_t)(int64_t)rel;
    }
    return 0;
}

static void on_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    (void)id;
    if (in_window) win.translations++;
    translations_all++;
    size_t n = qemu_plugin_tb_n_insns(tb);
    /* before the first batch: every translation's address and size (which
     * code the boot translates; `trans PC INSNS` lines, before the
     * `before_first_window` line) */
    if (!first_window_seen)
        fprintf(out, "trans %llx %zu\n", (unsigned long long)qemu_plugin_tb_vaddr(tb), n);
    qemu_plugin_register_vcpu_tb_exec_inline(tb, INLINE_ADD_U64, &raw.insns, n);
    qemu_plugin_register_vcpu_tb_exec_inline(tb, INLINE_ADD_U64, &raw.tbs, 1);
    struct tbinfo *ti = calloc(1, sizeof *ti);
    if (!ti) abort();
    ti->pc = qemu_plugin_tb_vaddr(tb);
    qemu_plugin_register_vcpu_tb_exec_cb(tb, on_tb, CB_NO_REGS, ti);
    int last_end = E_OTHER;
    for (size_t k = 0; k < n; k++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, k);
        const uint8_t *d = qemu_plugin_insn_data(insn);
        size_t sz = qemu_plugin_insn_size(insn);
        int endk;
        uint32_t mark;
        int c = classify(d, sz, &endk, &mark);
        /* an ordinary last instruction: the block was cut (size, page) and chains */
        last_end = (endk == E_OTHER && c < 0) || (endk == E_OTHER && (c == C_LOCK || c == C_REPSTR || c == C_RDTSC
                                                                       || c == C_CPUID || c == C_XSAVE || c == C_FXSAVE || c == C_FSGSBASE))
                       ? E_DIRECT
                       : endk;
        if (c >= 0) qemu_plugin_register_vcpu_insn_exec_inline(insn, INLINE_ADD_U64, &raw.cats[c], 1);
        if (c == C_CR3W) qemu_plugin_register_vcpu_insn_exec_cb(insn, on_cr3, CB_NO_REGS, NULL);
        if (c == C_LOCK)
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_locked, CB_NO_REGS,
                                                   (void *)(uintptr_t)qemu_plugin_insn_vaddr(insn));
        if (mark == MARK_START || mark == MARK_END)
            qemu_plugin_register_vcpu_insn_exec_cb(insn, on_mark, CB_NO_REGS,
                                                   (void *)(uintptr_t)(mark == MARK_START ? 1 : 2));
        if (want_mem) qemu_plugin_register_vcpu_mem_cb(insn, on_mem, CB_NO_REGS, MEM_RW, NULL);
    }
    qemu_plugin_register_vcpu_tb_exec_inline(tb, INLINE_ADD_U64, &raw.ends[last_end], 1);
    ti->end = last_end;
    if (n > 0) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, n - 1);
        ti->succ[0] = qemu_plugin_insn_vaddr(insn) + qemu_plugin_insn_size(insn);
        ti->succ[1] = direct_target(insn);
        const uint8_t *d = qemu_plugin_insn_data(insn);
        int endk;
        uint32_t mark;
        if (classify(d, qemu_plugin_insn_size(insn), &endk, &mark) == C_REPSTR)
            ti->succ[1] = qemu_plugin_insn_vaddr(insn); /* the next iteration */
    }
}

static void on_atexit(qemu_plugin_id_t id, void *udata) {
    (void)id;
    (void)udata;
    fprintf(out, "end windows=%llu\n", (unsigned long long)windows);
    fclose(out);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                                               int argc, char **argv) {
    (void)info;
    const char *path = "tcgstat.out";
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "out=", 4) == 0) path = argv[i] + 4;
        else if (strcmp(argv[i], "mem=off") == 0) want_mem = false;
    }
    out = fopen(path, "w");
    if (!out) return 1;
    tlb_flush_all();
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_trans);
    qemu_plugin_register_atexit_cb(id, on_atexit, NULL);
    return 0;
}
