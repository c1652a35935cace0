/*
 * tbcount: a QEMU TCG plugin that counts how often each translation block
 * runs (`cargo xtask bench --tb-profile`, docs/bench.md "Instructions by
 * function").
 *
 * Every block QEMU translates gets an inline 64-bit counter (no helper
 * call per execution), keyed by the block's guest virtual address and its
 * instruction count, so a block translated again (after a TLB or code
 * flush) adds to the same counter. At QEMU's exit (the kernel's power-off
 * through isa-debug-exit) the plugin writes one line per block to the
 * file named by its `out=PATH` argument:
 *
 *     <vaddr in hex> <instructions in the block> <executions>
 *
 * xtask attributes the lines to the kernel's functions (its symbol table)
 * and to user mode (addresses in the lower half).
 *
 * Debian's QEMU (7.2) is built with plugin support but ships no
 * qemu-plugin.h, so the few declarations used are written out below (the
 * plugin API of QEMU_PLUGIN_VERSION 1, which 7.2 accepts; the functions
 * used here have kept their signatures in later versions).
 * Build: gcc -shared -fPIC -O2 -o tbcount.so tbcount.c
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- the plugin API's declarations (QEMU's include/qemu/qemu-plugin.h) --- */
typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t; /* not read here */
struct qemu_plugin_tb;
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb, enum qemu_plugin_op op, void *ptr,
                                              uint64_t imm);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
__attribute__((visibility("default"))) int qemu_plugin_version = 1;
/* --- end of the declarations --- */

/* One counted block. Entries are never freed or moved while QEMU runs:
 * translated code holds the address of `count`. */
struct block {
    uint64_t vaddr;
    uint64_t insns;
    uint64_t count;
    struct block *next; /* the hash chain */
};

#define BUCKETS (1u << 16)
static struct block *table[BUCKETS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *out_path;

static unsigned bucket(uint64_t vaddr, uint64_t insns) {
    uint64_t h = (vaddr ^ (insns << 48)) * 0x9e3779b97f4a7c15ull;
    return (unsigned)(h >> 48) & (BUCKETS - 1);
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    (void)id;
    uint64_t vaddr = qemu_plugin_tb_vaddr(tb);
    uint64_t insns = qemu_plugin_tb_n_insns(tb);
    pthread_mutex_lock(&lock);
    unsigned b = bucket(vaddr, insns);
    struct block *e = table[b];
    while (e && (e->vaddr != vaddr || e->insns != insns)) e = e->next;
    if (!e) {
        e = calloc(1, sizeof *e);
        if (!e) {
            pthread_mutex_unlock(&lock);
            return; /* this translation goes uncounted */
        }
        e->vaddr = vaddr;
        e->insns = insns;
        e->next = table[b];
        table[b] = e;
    }
    pthread_mutex_unlock(&lock);
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &e->count, 1);
}

static void write_counts(qemu_plugin_id_t id, void *userdata) {
    (void)id;
    (void)userdata;
    FILE *f = fopen(out_path, "w");
    if (!f) {
        perror(out_path);
        return;
    }
    pthread_mutex_lock(&lock);
    for (unsigned b = 0; b < BUCKETS; b++)
        for (struct block *e = table[b]; e; e = e->next)
            if (e->count) fprintf(f, "%llx %llu %llu\n", (unsigned long long)e->vaddr,
                                  (unsigned long long)e->insns, (unsigned long long)e->count);
    pthread_mutex_unlock(&lock);
    fclose(f);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                                               int argc, char **argv) {
    (void)info;
    for (int i = 0; i < argc; i++)
        if (strncmp(argv[i], "out=", 4) == 0) out_path = strdup(argv[i] + 4);
    if (!out_path) {
        fprintf(stderr, "tbcount: needs out=PATH\n");
        return -1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, write_counts, NULL);
    return 0;
}
