/* io_uring through the raw system calls for the suite's programs (no
 * liburing; musl ships no kernel headers): Linux 6.1's ABI structures and
 * numbers, a ring set up and mapped (struct ring), SQEs queued and
 * submitted, CQEs reaped from the CQ ring. */
#ifndef KT_URING_H
#define KT_URING_H
#include "kt.h"

#include <sys/mman.h>

/* include/uapi/linux/io_uring.h of Linux 6.1 (musl ships no kernel headers) */
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
struct cqe {
    uint64_t user_data;
    int32_t res;
    uint32_t flags;
};
struct getevents_arg {
    uint64_t sigmask;
    uint32_t sigmask_sz, pad;
    uint64_t ts;
};
struct kts {
    int64_t tv_sec, tv_nsec;
};

enum {
    OP_NOP, OP_READV, OP_WRITEV, OP_FSYNC, OP_READ_FIXED, OP_WRITE_FIXED, OP_POLL_ADD, OP_POLL_REMOVE,
    OP_SYNC_FILE_RANGE, OP_SENDMSG, OP_RECVMSG, OP_TIMEOUT, OP_TIMEOUT_REMOVE, OP_ACCEPT, OP_ASYNC_CANCEL,
    OP_LINK_TIMEOUT, OP_CONNECT, OP_FALLOCATE, OP_OPENAT, OP_CLOSE, OP_FILES_UPDATE, OP_STATX, OP_READ,
    OP_WRITE, OP_FADVISE, OP_MADVISE, OP_SEND, OP_RECV, OP_LAST = 49
};
#define SETUP_IOPOLL (1U << 0)
#define SETUP_SQPOLL (1U << 1)
#define SETUP_SQ_AFF (1U << 2)
#define SETUP_CQSIZE (1U << 3)
#define SETUP_CLAMP (1U << 4)
#define SETUP_R_DISABLED (1U << 6)
#define SETUP_SUBMIT_ALL (1U << 7)
#define SETUP_COOP_TASKRUN (1U << 8)
#define SETUP_TASKRUN_FLAG (1U << 9)
#define SETUP_SINGLE_ISSUER (1U << 12)
#define SETUP_DEFER_TASKRUN (1U << 13)
#define FEAT_MINE 0x97fU /* SINGLE_MMAP NODROP SUBMIT_STABLE RW_CUR_POS CUR_PERSONALITY FAST_POLL POLL_32BITS EXT_ARG CQE_SKIP */
#define SQE_FIXED_FILE 1
#define SQE_IO_DRAIN 2
#define SQE_IO_LINK 4
#define SQE_IO_HARDLINK 8
#define SQE_CQE_SKIP_SUCCESS 64
#define ENTER_GETEVENTS 1U
#define ENTER_EXT_ARG 8U
#define ENTER_SQ_WAKEUP 2U
#define SQ_NEED_WAKEUP 1U
#define FEAT_SQPOLL_NONFIXED (1U << 7)
#define SQ_CQ_OVERFLOW 2U
#define OFF_SQ_RING 0ULL
#define OFF_CQ_RING 0x8000000ULL
#define OFF_SQES 0x10000000ULL
#define REG_BUFFERS 0
#define UNREG_BUFFERS 1
#define REG_FILES 2
#define UNREG_FILES 3
#define REG_EVENTFD 4
#define REG_PROBE 8
#define REG_EVENTFD_ASYNC 7
#define UNREG_EVENTFD 5
#define REG_ENABLE_RINGS 12
#define TIMEOUT_ETIME_SUCCESS (1U << 5)
#ifndef EBADFD
#define EBADFD 77
#endif

static int u_setup(unsigned entries, struct uring_params *p) { return syscall(425, entries, p); }
static int u_enter(int fd, unsigned sub, unsigned min, unsigned flags, void *arg, size_t sz) {
    return syscall(426, fd, sub, min, flags, arg, sz);
}
static int u_register(int fd, unsigned op, void *arg, unsigned nr) { return syscall(427, fd, op, arg, nr); }

struct ring {
    int fd;
    struct uring_params p;
    unsigned char *rings;
    struct sqe *sqes;
    size_t rings_len, sqes_len;
    unsigned tail; /* our SQ tail, published by submit */
};

#define RU32(r, off) ((volatile uint32_t *)((r)->rings + (off)))

/* sets up a ring with the parameters already in r->p */
static int ring_init_p(struct ring *r, unsigned entries);
static int ring_init(struct ring *r, unsigned entries, unsigned flags) {
    memset(r, 0, sizeof *r);
    r->p.flags = flags;
    return ring_init_p(r, entries);
}
static int ring_init_p(struct ring *r, unsigned entries) {
    r->fd = u_setup(entries, &r->p);
    if (r->fd < 0) return -1;
    r->rings_len = r->p.sq_off.array + r->p.sq_entries * 4;
    r->sqes_len = r->p.sq_entries * sizeof(struct sqe);
    r->rings = mmap(0, r->rings_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, OFF_SQ_RING);
    if (r->rings == MAP_FAILED) return -1;
    r->sqes = mmap(0, r->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, OFF_SQES);
    if (r->sqes == MAP_FAILED) return -1;
    return 0;
}

static void ring_exit(struct ring *r) {
    munmap(r->rings, r->rings_len);
    munmap(r->sqes, r->sqes_len);
    close(r->fd);
}

/* a ring of `entries` and a pipe, the set-up of most cases: 0, or -1 */
static int ring_pipe(struct ring *r, unsigned entries, int p[2]) {
    if (ring_init(r, entries, 0)) return -1;
    if (pipe(p) == 0) return 0;
    ring_exit(r);
    return -1;
}

static void ring_pipe_exit(struct ring *r, int p[2]) {
    close(p[0]);
    close(p[1]);
    ring_exit(r);
}

/* the next SQE, zeroed, queued in the SQ array (published by push) */
static struct sqe *prep(struct ring *r, int op, int fd, const void *addr, unsigned len, uint64_t off, uint64_t ud) {
    unsigned mask = *RU32(r, r->p.sq_off.ring_mask);
    unsigned i = r->tail & mask;
    struct sqe *s = &r->sqes[i];
    memset(s, 0, sizeof *s);
    s->opcode = op;
    s->fd = fd;
    s->addr = (uint64_t)(uintptr_t)addr;
    s->len = len;
    s->off = off;
    s->user_data = ud;
    ((uint32_t *)(r->rings + r->p.sq_off.array))[i] = i;
    r->tail++;
    return s;
}

static void push(struct ring *r) {
    __atomic_store_n(RU32(r, r->p.sq_off.tail), r->tail, __ATOMIC_RELEASE);
}

static int submit(struct ring *r, unsigned n) {
    push(r);
    return u_enter(r->fd, n, 0, 0, 0, 0);
}

static unsigned ready(struct ring *r) {
    return __atomic_load_n(RU32(r, r->p.cq_off.tail), __ATOMIC_ACQUIRE) - *RU32(r, r->p.cq_off.head);
}

/* copies out up to max CQEs and moves the head */
static int reap(struct ring *r, struct cqe *out, int max) {
    unsigned head = *RU32(r, r->p.cq_off.head);
    unsigned tail = __atomic_load_n(RU32(r, r->p.cq_off.tail), __ATOMIC_ACQUIRE);
    unsigned mask = *RU32(r, r->p.cq_off.ring_mask);
    int n = 0;
    struct cqe *c = (struct cqe *)(r->rings + r->p.cq_off.cqes);
    while (head != tail && n < max) out[n++] = c[head++ & mask];
    __atomic_store_n(RU32(r, r->p.cq_off.head), head, __ATOMIC_RELEASE);
    return n;
}

/* io_uring_enter submitting `sub` and waiting for min CQEs, ms
 * milliseconds at most (IORING_ENTER_EXT_ARG's timespec) */
static int enter_wait_ms(struct ring *r, unsigned sub, unsigned min, long ms) {
    struct kts ts = {ms / 1000, (ms % 1000) * 1000000L};
    struct getevents_arg a = {0, 8, 0, (uint64_t)(uintptr_t)&ts};
    return u_enter(r->fd, sub, min, ENTER_GETEVENTS | ENTER_EXT_ARG, &a, sizeof a);
}

/* waits for min CQEs (2 s at most), then reaps them all */
static int wait_reap(struct ring *r, unsigned min, struct cqe *out, int max) {
    if (ready(r) < min) enter_wait_ms(r, 0, min, 2000);
    return reap(r, out, max);
}

/* the result of the CQE with user_data ud among n (-9999 when missing) */
static int res_of(struct cqe *c, int n, uint64_t ud) {
    for (int i = 0; i < n; i++)
        if (c[i].user_data == ud) return c[i].res;
    return -9999;
}
#endif
