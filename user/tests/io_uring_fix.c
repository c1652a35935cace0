/* io_uring fixes of review39 (fix39): a parked request does not keep its
 * exited submitter thread's kernel memory (its Task and kernel stack here;
 * Linux keeps only the task_struct, whose stack goes at its last switch).
 * 2,000 threads each submit a TIMEOUT that never fires and exit; MemFree
 * must not drop by more than 40 MiB meanwhile (Linux: about 10 KiB a
 * request; ours before the fix: the 32-48 KiB stack of each). */
#include "kt.h"

#include <pthread.h>
#include <sys/mman.h>

struct sqring_offsets {
    uint32_t head, tail, ring_mask, ring_entries, flags, dropped, array, resv1;
    uint64_t resv2;
};
struct cqring_offsets {
    uint32_t head, tail, ring_mask, ring_entries, overflow, cqes, flags, resv1;
    uint64_t resv2;
};
struct uring_params {
    uint32_t sq_entries, cq_entries, flags, sq_thread_cpu, sq_thread_idle, features, wq_fd, resv[3];
    struct sqring_offsets sq_off;
    struct cqring_offsets cq_off;
};
struct sqe {
    uint8_t opcode, flags;
    uint16_t ioprio;
    int32_t fd;
    uint64_t off, addr;
    uint32_t len, op_flags;
    uint64_t user_data;
    uint16_t buf_index, personality;
    int32_t file_index;
    uint64_t addr3, pad;
};
struct kts {
    int64_t tv_sec, tv_nsec;
};
#define OP_TIMEOUT 11
#define SETUP_CQSIZE (1U << 3)
#define OFF_SQ_RING 0ULL
#define OFF_SQES 0x10000000ULL

static int ring_fd;
static unsigned char *rings;
static struct sqe *sqes;
static struct uring_params prm;
static unsigned sq_tail;
static struct kts forever = {1000000, 0};

#define RU32(off) ((volatile uint32_t *)(rings + (off)))

/* One TIMEOUT of 10^6 s submitted by a new thread, which then exits. */
static void *submit_one(void *arg) {
    (void)arg;
    unsigned mask = *RU32(prm.sq_off.ring_mask);
    unsigned i = sq_tail & mask;
    struct sqe *s = &sqes[i];
    memset(s, 0, sizeof *s);
    s->opcode = OP_TIMEOUT;
    s->fd = -1;
    s->addr = (uint64_t)(uintptr_t)&forever;
    s->len = 1;
    s->user_data = sq_tail;
    ((uint32_t *)(rings + prm.sq_off.array))[i] = i;
    sq_tail++;
    __atomic_store_n(RU32(prm.sq_off.tail), sq_tail, __ATOMIC_RELEASE);
    long r = syscall(426, ring_fd, 1, 0, 0, NULL, 0);
    return (void *)r;
}

KT_CASE(parked_requests_keep_no_exited_thread_stack) {
    memset(&prm, 0, sizeof prm);
    prm.flags = SETUP_CQSIZE;
    prm.cq_entries = 4096;
    ring_fd = (int)syscall(425, 8, &prm);
    KT_TRUE(ring_fd >= 0, "io_uring_setup: %s", kt_errname(errno));
    size_t rings_len = prm.cq_off.cqes + prm.cq_entries * 16;
    size_t sq_len = prm.sq_off.array + prm.sq_entries * 4;
    if (sq_len > rings_len) rings_len = sq_len;
    rings = mmap(0, rings_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring_fd, OFF_SQ_RING);
    KT_TRUE(rings != MAP_FAILED, "mmap rings: %s", kt_errname(errno));
    sqes = mmap(0, prm.sq_entries * sizeof(struct sqe), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                ring_fd, OFF_SQES);
    KT_TRUE(sqes != MAP_FAILED, "mmap sqes: %s", kt_errname(errno));
    /* a few rounds first: the allocators' caches */
    for (int i = 0; i < 50; i++) {
        pthread_t t;
        void *r;
        KT_EQ(pthread_create(&t, NULL, submit_one, NULL), 0);
        KT_EQ(pthread_join(t, &r), 0);
        KT_EQ((long)r, 1);
    }
    long before = kt_meminfo_kb("MemFree:");
    long low = before;
    int n = 0;
    for (; n < 2000; n++) {
        pthread_t t;
        void *r;
        if (pthread_create(&t, NULL, submit_one, NULL) != 0) break;
        if (pthread_join(t, &r) != 0 || (long)r != 1) break;
        if (n % 100 == 99) {
            long f = kt_meminfo_kb("MemFree:");
            if (f < low) low = f;
            if (before - low > 40 * 1024) break;
        }
    }
    kt_printf("# %d threads: MemFree %ld kB before, lowest %ld kB\n", n, before, low);
    close(ring_fd);
    munmap(rings, rings_len);
    KT_EQ(n, 2000);
    KT_TRUE(before - low <= 40 * 1024, "MemFree dropped by %ld kB", before - low);
}

KT_MAIN()
