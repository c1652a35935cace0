/* io_uring through the raw system calls (no liburing): io_uring_setup's
 * sizing, checks, params offsets and features; mmap of the rings and the
 * SQEs; io_uring_enter's submission and waiting (min_complete, EXT_ARG
 * timeouts, EINTR, CQ overflow with NODROP semantics, dropped SQ entries);
 * opcodes NOP, READ/WRITE(V), FSYNC, POLL_ADD/REMOVE, TIMEOUT(_REMOVE),
 * LINK_TIMEOUT, ASYNC_CANCEL, OPENAT, CLOSE, STATX, SEND/RECV,
 * SENDMSG/RECVMSG, ACCEPT, CONNECT, READ/WRITE_FIXED; link chains and
 * drains; requests on pipes and sockets that wait without blocking
 * io_uring_enter; io_uring_register's PROBE, FILES (IOSQE_FIXED_FILE),
 * BUFFERS, EVENTFD, ENABLE_RINGS. */
#include "kt.h"
#include "kt_inet.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>

#include "kt_uring.h"

KT_CASE(setup_errors_and_sizes) {
    struct uring_params p;
    memset(&p, 0, sizeof p);
    KT_SYS_ERR(u_setup(0, &p), EINVAL);
    KT_SYS_ERR(u_setup(32769, &p), EINVAL);
    KT_SYS_ERR(u_setup(4, (void *)8), EFAULT);
    p.resv[1] = 1;
    KT_SYS_ERR(u_setup(4, &p), EINVAL);
    memset(&p, 0, sizeof p);
    p.flags = 1U << 14;
    KT_SYS_ERR(u_setup(4, &p), EINVAL);
    memset(&p, 0, sizeof p);
    p.flags = SETUP_CQSIZE;
    KT_SYS_ERR(u_setup(4, &p), EINVAL);
    p.cq_entries = 2;
    KT_SYS_ERR(u_setup(4, &p), EINVAL);
    p.cq_entries = 65537;
    KT_SYS_ERR(u_setup(4, &p), EINVAL);
    memset(&p, 0, sizeof p);
    p.flags = SETUP_DEFER_TASKRUN;
    KT_SYS_ERR(u_setup(4, &p), EINVAL);
    memset(&p, 0, sizeof p);
    p.flags = SETUP_TASKRUN_FLAG;
    KT_SYS_ERR(u_setup(4, &p), EINVAL);
    /* sizes */
    memset(&p, 0, sizeof p);
    int fd = KT_SYS_OK(u_setup(5, &p));
    KT_EQ(p.sq_entries, 8);
    KT_EQ(p.cq_entries, 16);
    KT_EQ(p.features & FEAT_MINE, FEAT_MINE);
    KT_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
    KT_EQ(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
    /* struct io_rings of 6.1: heads and tails on cache lines of their own */
    KT_EQ(p.sq_off.head, 0);
    KT_EQ(p.sq_off.tail, 64);
    KT_EQ(p.cq_off.head, 128);
    KT_EQ(p.cq_off.tail, 192);
    KT_EQ(p.sq_off.ring_mask, 256);
    KT_EQ(p.cq_off.ring_mask, 260);
    KT_EQ(p.sq_off.ring_entries, 264);
    KT_EQ(p.cq_off.ring_entries, 268);
    KT_EQ(p.sq_off.dropped, 272);
    KT_EQ(p.sq_off.flags, 276);
    KT_EQ(p.cq_off.flags, 280);
    KT_EQ(p.cq_off.overflow, 284);
    KT_EQ(p.cq_off.cqes, 320);
    KT_EQ(p.sq_off.array, 320 + 16 * 16);
    KT_SYS_ERR(read(fd, &p, 8), EINVAL);
    KT_SYS_ERR(lseek(fd, 0, SEEK_SET), ESPIPE);
    close(fd);
    memset(&p, 0, sizeof p);
    p.flags = SETUP_CQSIZE;
    p.cq_entries = 100;
    fd = KT_SYS_OK(u_setup(3, &p));
    KT_EQ(p.sq_entries, 4);
    KT_EQ(p.cq_entries, 128);
    close(fd);
    memset(&p, 0, sizeof p);
    p.flags = SETUP_CLAMP | SETUP_CQSIZE;
    p.cq_entries = 100000;
    fd = KT_SYS_OK(u_setup(40000, &p));
    KT_EQ(p.sq_entries, 32768);
    KT_EQ(p.cq_entries, 65536);
    close(fd);
    memset(&p, 0, sizeof p);
    p.flags = SETUP_COOP_TASKRUN | SETUP_TASKRUN_FLAG | SETUP_SINGLE_ISSUER | SETUP_DEFER_TASKRUN;
    fd = KT_SYS_OK(u_setup(4, &p));
    close(fd);
}

KT_CASE(mmap_and_ring_fields) {
    struct ring r;
    KT_SYS_RET(ring_init(&r, 4, 0), 0);
    KT_EQ(*RU32(&r, r.p.sq_off.ring_mask), 3);
    KT_EQ(*RU32(&r, r.p.sq_off.ring_entries), 4);
    KT_EQ(*RU32(&r, r.p.cq_off.ring_mask), 7);
    KT_EQ(*RU32(&r, r.p.cq_off.ring_entries), 8);
    KT_EQ(*RU32(&r, r.p.sq_off.head), 0);
    KT_EQ(*RU32(&r, r.p.cq_off.tail), 0);
    /* the CQ ring offset maps the same pages (IORING_FEAT_SINGLE_MMAP) */
    unsigned char *cq = mmap(0, 4096, PROT_READ, MAP_SHARED, r.fd, OFF_CQ_RING);
    KT_TRUE(cq != MAP_FAILED, "mmap CQ ring: %s", strerror(errno));
    KT_EQ(*(uint32_t *)(cq + r.p.cq_off.ring_entries), 8);
    munmap(cq, 4096);
    /* (6.1's get_unmapped_area refuses a bad request with ENOMEM) */
    void *bad = mmap(0, 4096, PROT_READ, MAP_SHARED, r.fd, 0x1000);
    KT_TRUE(bad == MAP_FAILED && errno == ENOMEM, "offset 0x1000: %p %s", bad, kt_errname(errno));
    /* (a length past the region: Debian's 6.1 maps it, ours refuses it) */
    ring_exit(&r);
}

KT_CASE(nop_and_enter_errors) {
    struct ring r;
    struct cqe c[8];
    KT_SYS_RET(ring_init(&r, 4, 0), 0);
    prep(&r, OP_NOP, -1, 0, 0, 0, 11);
    prep(&r, OP_NOP, -1, 0, 0, 0, 12)->flags = SQE_CQE_SKIP_SUCCESS;
    prep(&r, OP_NOP, -1, 0, 0, 0, 13);
    KT_SYS_RET(submit(&r, 3), 3);
    KT_EQ(*RU32(&r, r.p.sq_off.head), 3);
    KT_EQ(reap(&r, c, 8), 2);
    KT_EQ(c[0].user_data, 11);
    KT_EQ(c[0].res, 0);
    KT_EQ(c[1].user_data, 13);
    /* nothing queued: 0 */
    KT_SYS_RET(u_enter(r.fd, 4, 0, 0, 0, 0), 0);
    KT_SYS_ERR(u_enter(r.fd, 0, 0, 1U << 10, 0, 0), EINVAL);
    KT_SYS_ERR(u_enter(999, 0, 0, 0, 0, 0), EBADF);
    KT_SYS_ERR(u_enter(0, 0, 0, 0, 0, 0), EOPNOTSUPP);
    KT_SYS_ERR(u_register(r.fd, 26, 0, 0), EINVAL);
    KT_SYS_ERR(u_register(1, REG_PROBE, 0, 0), EOPNOTSUPP);
    /* unknown opcode and flag: -EINVAL CQEs, counted as submitted */
    prep(&r, OP_LAST, -1, 0, 0, 0, 21);
    prep(&r, OP_NOP, -1, 0, 0, 0, 22)->flags = 0x80;
    KT_SYS_RET(submit(&r, 2), 1);
    KT_SYS_RET(submit(&r, 1), 1);
    KT_EQ(reap(&r, c, 8), 2);
    KT_EQ(res_of(c, 2, 21), -EINVAL);
    KT_EQ(res_of(c, 2, 22), -EINVAL);
    /* an SQ array index out of range: dropped */
    struct sqe *s = prep(&r, OP_NOP, -1, 0, 0, 0, 31);
    ((uint32_t *)(r.rings + r.p.sq_off.array))[(s - r.sqes)] = 99;
    KT_SYS_RET(submit(&r, 1), 0);
    KT_EQ(*RU32(&r, r.p.sq_off.dropped), 1);
    KT_EQ(*RU32(&r, r.p.sq_off.head), r.tail);
    KT_EQ(ready(&r), 0);
    ring_exit(&r);
}

KT_CASE(read_write_file) {
    struct ring r;
    struct cqe c[8];
    KT_SYS_RET(ring_init(&r, 8, 0), 0);
    int fd = KT_SYS_OK(open("/tmp/uring_rw", O_RDWR | O_CREAT | O_TRUNC, 0600));
    char a[] = "hello ", b[] = "uring!", out[16] = {0};
    prep(&r, OP_WRITE, fd, a, 6, 0, 1)->flags = SQE_IO_LINK;
    prep(&r, OP_WRITE, fd, b, 6, 6, 2)->flags = SQE_IO_LINK;
    prep(&r, OP_FSYNC, fd, 0, 0, 0, 3)->flags = SQE_IO_LINK;
    prep(&r, OP_READ, fd, out, 16, 0, 4);
    KT_SYS_RET(submit(&r, 4), 4);
    KT_EQ(wait_reap(&r, 4, c, 8), 4);
    KT_EQ(res_of(c, 4, 1), 6);
    KT_EQ(res_of(c, 4, 2), 6);
    KT_EQ(res_of(c, 4, 3), 0);
    KT_EQ(res_of(c, 4, 4), 12);
    KT_EQ(memcmp(out, "hello uring!", 12), 0);
    /* RW_CUR_POS: offset -1 is the file position, which moves */
    KT_SYS_RET(lseek(fd, 2, SEEK_SET), 2);
    memset(out, 0, sizeof out);
    prep(&r, OP_READ, fd, out, 3, -1ULL, 5);
    KT_SYS_RET(submit(&r, 1), 1);
    KT_EQ(wait_reap(&r, 1, c, 8), 1);
    KT_EQ(c[0].res, 3);
    KT_EQ(memcmp(out, "llo", 3), 0);
    KT_SYS_RET(lseek(fd, 0, SEEK_CUR), 5);
    /* vectored */
    char x[4], y[4];
    struct iovec iov[2] = {{x, 4}, {y, 4}};
    prep(&r, OP_READV, fd, iov, 2, 1, 6);
    struct iovec wv[1] = {{"ZZ", 2}};
    prep(&r, OP_WRITEV, fd, wv, 1, 12, 7);
    KT_SYS_RET(submit(&r, 2), 2);
    KT_EQ(wait_reap(&r, 2, c, 8), 2);
    KT_EQ(res_of(c, 2, 6), 8);
    KT_EQ(memcmp(x, "ello", 4), 0);
    KT_EQ(memcmp(y, " uri", 4), 0);
    KT_EQ(res_of(c, 2, 7), 2);
    struct stat st;
    KT_SYS_OK(fstat(fd, &st));
    KT_EQ(st.st_size, 14);
    /* errors as CQEs */
    prep(&r, OP_READ, 777, out, 4, 0, 8);
    prep(&r, OP_READ, fd, (void *)8, 4, 0, 9);
    prep(&r, OP_FSYNC, fd, 0, 0, 0, 10)->op_flags = 2;
    KT_SYS_RET(submit(&r, 3), 3);
    KT_EQ(wait_reap(&r, 3, c, 8), 3);
    KT_EQ(res_of(c, 3, 8), -EBADF);
    KT_EQ(res_of(c, 3, 9), -EFAULT);
    KT_EQ(res_of(c, 3, 10), -EINVAL);
    close(fd);
    unlink("/tmp/uring_rw");
    ring_exit(&r);
}

KT_CASE(pipe_read_waits_without_blocking) {
    struct ring r;
    struct cqe c[8];
    int p[2];
    KT_SYS_RET(ring_pipe(&r, 4, p), 0);
    char buf[8] = {0};
    prep(&r, OP_READ, p[0], buf, 8, 0, 1);
    KT_SYS_RET(submit(&r, 1), 1);
    KT_EQ(ready(&r), 0);
    /* waiting with a timeout: ETIME */
    struct kts ts = {0, 20 * 1000 * 1000};
    struct getevents_arg a = {0, 8, 0, (uint64_t)(uintptr_t)&ts};
    KT_SYS_ERR(u_enter(r.fd, 0, 1, ENTER_GETEVENTS | ENTER_EXT_ARG, &a, sizeof a), ETIME);
    KT_SYS_ERR(u_enter(r.fd, 0, 1, ENTER_GETEVENTS | ENTER_EXT_ARG, &a, 16), EINVAL);
    KT_SYS_RET(write(p[1], "abc", 3), 3);
    KT_EQ(wait_reap(&r, 1, c, 8), 1);
    KT_EQ(c[0].user_data, 1);
    KT_EQ(c[0].res, 3);
    KT_EQ(memcmp(buf, "abc", 3), 0);
    /* a write to a full pipe waits too; the reader lets it finish */
    KT_SYS_OK(fcntl(p[1], F_SETFL, O_NONBLOCK));
    static char big[65536];
    while (write(p[1], big, sizeof big) > 0) {}
    KT_SYS_OK(fcntl(p[1], F_SETFL, 0));
    prep(&r, OP_WRITE, p[1], "Q", 1, 0, 2);
    KT_SYS_RET(submit(&r, 1), 1);
    KT_EQ(ready(&r), 0);
    KT_SYS_RET(read(p[0], big, sizeof big), sizeof big);
    KT_EQ(wait_reap(&r, 1, c, 8), 1);
    KT_EQ(c[0].res, 1);
    ring_pipe_exit(&r, p);
}

KT_CASE(poll_add_and_remove) {
    struct ring r;
    struct cqe c[8];
    int p[2];
    KT_SYS_RET(ring_pipe(&r, 4, p), 0);
    prep(&r, OP_POLL_ADD, p[1], 0, 0, 0, 1)->op_flags = POLLOUT;
    prep(&r, OP_POLL_ADD, p[0], 0, 0, 0, 2)->op_flags = POLLIN;
    prep(&r, OP_POLL_ADD, p[0], 0, 0, 0, 3)->op_flags = POLLIN;
    KT_SYS_RET(submit(&r, 3), 3);
    KT_EQ(reap(&r, c, 8), 1);
    KT_EQ(c[0].user_data, 1);
    KT_EQ(c[0].res, POLLOUT);
    prep(&r, OP_POLL_REMOVE, -1, (void *)3, 0, 0, 4);
    prep(&r, OP_POLL_REMOVE, -1, (void *)99, 0, 0, 5);
    KT_SYS_RET(submit(&r, 2), 2);
    KT_EQ(wait_reap(&r, 3, c, 8), 3);
    KT_EQ(res_of(c, 3, 3), -ECANCELED);
    KT_EQ(res_of(c, 3, 4), 0);
    KT_EQ(res_of(c, 3, 5), -ENOENT);
    KT_SYS_RET(write(p[1], "x", 1), 1);
    KT_EQ(wait_reap(&r, 1, c, 8), 1);
    KT_EQ(c[0].user_data, 2);
    KT_EQ(c[0].res, POLLIN);
    /* the ring fd itself polls: POLLIN with a CQE ready */
    prep(&r, OP_NOP, -1, 0, 0, 0, 6);
    KT_SYS_RET(submit(&r, 1), 1);
    struct pollfd pf = {.fd = r.fd, .events = POLLIN | POLLOUT};
    KT_SYS_RET(poll(&pf, 1, 0), 1);
    KT_EQ(pf.revents, POLLIN | POLLOUT);
    reap(&r, c, 8);
    KT_SYS_RET(poll(&pf, 1, 0), 1);
    KT_EQ(pf.revents, POLLOUT);
    /* a ring polled by another ring */
    struct ring r2;
    KT_SYS_RET(ring_init(&r2, 4, 0), 0);
    prep(&r, OP_POLL_ADD, r2.fd, 0, 0, 0, 7)->op_flags = POLLIN;
    KT_SYS_RET(submit(&r, 1), 1);
    KT_EQ(ready(&r), 0);
    prep(&r2, OP_NOP, -1, 0, 0, 0, 1);
    KT_SYS_RET(submit(&r2, 1), 1);
    KT_EQ(wait_reap(&r, 1, c, 8), 1);
    KT_EQ(c[0].user_data, 7);
    KT_EQ(c[0].res, POLLIN);
    ring_exit(&r2);
    ring_pipe_exit(&r, p);
}

KT_CASE(timeouts) {
    struct ring r;
    struct cqe c[8];
    KT_SYS_RET(ring_init(&r, 8, 0), 0);
    struct kts t20 = {0, 20 * 1000 * 1000}, tlong = {10, 0};
    prep(&r, OP_TIMEOUT, -1, &t20, 1, 0, 1);
    KT_SYS_RET(submit(&r, 1), 1);
    KT_EQ(wait_reap(&r, 1, c, 8), 1);
    KT_EQ(c[0].res, -ETIME);
    /* a count: completes after one other completion */
    prep(&r, OP_TIMEOUT, -1, &tlong, 1, 1, 2);
    prep(&r, OP_NOP, -1, 0, 0, 0, 3);
    KT_SYS_RET(submit(&r, 2), 2);
    KT_EQ(wait_reap(&r, 2, c, 8), 2);
    KT_EQ(res_of(c, 2, 2), 0);
    KT_EQ(res_of(c, 2, 3), 0);
    /* removed */
    prep(&r, OP_TIMEOUT, -1, &tlong, 1, 0, 4);
    KT_SYS_RET(submit(&r, 1), 1);
    prep(&r, OP_TIMEOUT_REMOVE, -1, (void *)4, 0, 0, 5);
    prep(&r, OP_TIMEOUT_REMOVE, -1, (void *)77, 0, 0, 6);
    KT_SYS_RET(submit(&r, 2), 2);
    KT_EQ(wait_reap(&r, 3, c, 8), 3);
    KT_EQ(res_of(c, 3, 4), -ECANCELED);
    KT_EQ(res_of(c, 3, 5), 0);
    KT_EQ(res_of(c, 3, 6), -ENOENT);
    /* bad ones */
    /* (an SQE its prep refuses ends the batch, counted as submitted) */
    prep(&r, OP_TIMEOUT, -1, &t20, 2, 0, 7);
    prep(&r, OP_TIMEOUT, -1, (void *)8, 1, 0, 8);
    KT_SYS_RET(submit(&r, 2), 1);
    KT_SYS_RET(submit(&r, 1), 1);
    KT_EQ(wait_reap(&r, 2, c, 8), 2);
    KT_EQ(res_of(c, 2, 7), -EINVAL);
    KT_EQ(res_of(c, 2, 8), -EFAULT);
    /* a waiter with min_complete 2 wakes when a timeout fires */
    prep(&r, OP_TIMEOUT, -1, &t20, 1, 0, 9);
    push(&r);
    KT_SYS_RET(u_enter(r.fd, 1, 2, ENTER_GETEVENTS, 0, 0), 1);
    KT_EQ(reap(&r, c, 8), 1);
    KT_EQ(c[0].res, -ETIME);
    ring_exit(&r);
}

KT_CASE(links_and_drain) {
    struct ring r;
    struct cqe c[8];
    int p[2];
    KT_SYS_RET(ring_pipe(&r, 8, p), 0);
    prep(&r, OP_NOP, -1, 0, 0, 0, 1)->flags = SQE_IO_LINK;
    prep(&r, OP_READ, 555, c, 4, 0, 2)->flags = SQE_IO_LINK;
    prep(&r, OP_NOP, -1, 0, 0, 0, 3)->flags = SQE_IO_LINK;
    prep(&r, OP_NOP, -1, 0, 0, 0, 4);
    prep(&r, OP_NOP, -1, 0, 0, 0, 5);
    KT_SYS_RET(submit(&r, 5), 5);
    KT_EQ(wait_reap(&r, 5, c, 8), 5);
    /* the head inline, the rest of the chain after the batch */
    KT_EQ(c[0].user_data, 1);
    KT_EQ(c[1].user_data, 5);
    KT_EQ(c[2].user_data, 2);
    KT_EQ(c[2].res, -EBADF);
    KT_EQ(c[3].user_data, 3);
    KT_EQ(c[3].res, -ECANCELED);
    KT_EQ(c[4].user_data, 4);
    KT_EQ(c[4].res, -ECANCELED);
    /* a hard link is not broken by the failure */
    prep(&r, OP_READ, 555, c, 4, 0, 6)->flags = SQE_IO_HARDLINK;
    prep(&r, OP_NOP, -1, 0, 0, 0, 7);
    KT_SYS_RET(submit(&r, 2), 2);
    KT_EQ(wait_reap(&r, 2, c, 8), 2);
    KT_EQ(res_of(c, 2, 6), -EBADF);
    KT_EQ(res_of(c, 2, 7), 0);
    /* a chain waits for its waiting head */
    char buf[4];
    prep(&r, OP_READ, p[0], buf, 1, 0, 8)->flags = SQE_IO_LINK;
    prep(&r, OP_NOP, -1, 0, 0, 0, 9);
    prep(&r, OP_NOP, -1, 0, 0, 0, 10);
    KT_SYS_RET(submit(&r, 3), 3);
    KT_EQ(reap(&r, c, 8), 1);
    KT_EQ(c[0].user_data, 10);
    /* a drain waits for everything before it */
    prep(&r, OP_NOP, -1, 0, 0, 0, 11)->flags = SQE_IO_DRAIN;
    KT_SYS_RET(submit(&r, 1), 1);
    KT_SYS_ERR(enter_wait_ms(&r, 0, 1, 10), ETIME);
    KT_SYS_RET(write(p[1], "z", 1), 1);
    KT_EQ(wait_reap(&r, 3, c, 8), 3);
    KT_EQ(c[0].user_data, 8);
    KT_EQ(c[0].res, 1);
    KT_EQ(c[1].user_data, 9);
    KT_EQ(c[2].user_data, 11);
    ring_pipe_exit(&r, p);
}

KT_CASE(link_timeout_and_cancel) {
    struct ring r;
    struct cqe c[8];
    int p[2];
    KT_SYS_RET(ring_pipe(&r, 8, p), 0);
    char buf[4];
    struct kts t20 = {0, 20 * 1000 * 1000}, tlong = {10, 0};
    prep(&r, OP_READ, p[0], buf, 1, 0, 1)->flags = SQE_IO_LINK;
    prep(&r, OP_LINK_TIMEOUT, -1, &t20, 1, 0, 2);
    KT_SYS_RET(submit(&r, 2), 2);
    KT_EQ(wait_reap(&r, 2, c, 8), 2);
    KT_EQ(res_of(c, 2, 1), -ECANCELED);
    KT_EQ(res_of(c, 2, 2), -ETIME);
    /* in time: the timeout is cancelled */
    KT_SYS_RET(write(p[1], "y", 1), 1);
    prep(&r, OP_READ, p[0], buf, 1, 0, 3)->flags = SQE_IO_LINK;
    prep(&r, OP_LINK_TIMEOUT, -1, &tlong, 1, 0, 4);
    KT_SYS_RET(submit(&r, 2), 2);
    KT_EQ(wait_reap(&r, 2, c, 8), 2);
    KT_EQ(res_of(c, 2, 3), 1);
    KT_EQ(res_of(c, 2, 4), -ECANCELED);
    /* ASYNC_CANCEL of a waiting read */
    prep(&r, OP_READ, p[0], buf, 1, 0, 5);
    KT_SYS_RET(submit(&r, 1), 1);
    prep(&r, OP_ASYNC_CANCEL, -1, (void *)5, 0, 0, 6);
    prep(&r, OP_ASYNC_CANCEL, -1, (void *)55, 0, 0, 7);
    KT_SYS_RET(submit(&r, 2), 2);
    KT_EQ(wait_reap(&r, 3, c, 8), 3);
    KT_EQ(res_of(c, 3, 5), -ECANCELED);
    KT_EQ(res_of(c, 3, 6), 0);
    KT_EQ(res_of(c, 3, 7), -ENOENT);
    /* IORING_ASYNC_CANCEL_ALL: every match, the count */
    prep(&r, OP_READ, p[0], buf, 1, 0, 9);
    prep(&r, OP_READ, p[0], buf, 1, 0, 9);
    KT_SYS_RET(submit(&r, 2), 2);
    prep(&r, OP_ASYNC_CANCEL, -1, (void *)9, 0, 0, 10)->op_flags = 1;
    KT_SYS_RET(submit(&r, 1), 1);
    KT_EQ(wait_reap(&r, 3, c, 8), 3);
    KT_EQ(res_of(c, 3, 10), 2);
    KT_EQ(c[0].res + c[1].res + c[2].res, 2 - 2 * ECANCELED);
    /* the data went nowhere */
    KT_SYS_RET(write(p[1], "w", 1), 1);
    KT_SYS_RET(read(p[0], buf, 4), 1);
    KT_EQ(buf[0], 'w');
    ring_pipe_exit(&r, p);
}

static volatile int got_alarm;
static void on_alarm(int s) {
    (void)s;
    got_alarm = 1;
}

KT_CASE(wait_eintr_and_overflow) {
    struct ring r;
    struct cqe c[16];
    KT_SYS_RET(ring_init(&r, 4, 0), 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    KT_SYS_OK(sigaction(SIGALRM, &sa, 0));
    struct itimerval it = {{0, 0}, {0, 20000}};
    KT_SYS_OK(setitimer(ITIMER_REAL, &it, 0));
    KT_SYS_ERR(u_enter(r.fd, 0, 1, ENTER_GETEVENTS, 0, 0), EINTR);
    KT_EQ(got_alarm, 1);
    /* 12 NOPs into 8 CQ entries: 4 wait in the overflow list */
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 4; i++) prep(&r, OP_NOP, -1, 0, 0, 0, round * 4 + i);
        KT_SYS_RET(submit(&r, 4), 4);
    }
    KT_EQ(ready(&r), 8);
    KT_EQ(*RU32(&r, r.p.sq_off.flags) & SQ_CQ_OVERFLOW, SQ_CQ_OVERFLOW);
    KT_EQ(*RU32(&r, r.p.cq_off.overflow), 0);
    KT_EQ(reap(&r, c, 16), 8);
    KT_EQ(c[7].user_data, 7);
    KT_SYS_RET(u_enter(r.fd, 0, 0, ENTER_GETEVENTS, 0, 0), 0);
    KT_EQ(ready(&r), 4);
    KT_EQ(*RU32(&r, r.p.sq_off.flags) & SQ_CQ_OVERFLOW, 0);
    KT_EQ(reap(&r, c, 16), 4);
    KT_EQ(c[0].user_data, 8);
    KT_EQ(c[3].user_data, 11);
    ring_exit(&r);
}

KT_CASE(open_statx_close) {
    struct ring r;
    struct cqe c[8];
    KT_SYS_RET(ring_init(&r, 4, 0), 0);
    int fd = KT_SYS_OK(open("/tmp/uring_sx", O_RDWR | O_CREAT | O_TRUNC, 0600));
    KT_SYS_RET(write(fd, "12345", 5), 5);
    close(fd);
    prep(&r, OP_OPENAT, AT_FDCWD, "/tmp/uring_sx", 0, 0, 1)->op_flags = O_RDONLY;
    prep(&r, OP_OPENAT, AT_FDCWD, "/tmp/nonexistent_uring", 0, 0, 2)->op_flags = O_RDONLY;
    KT_SYS_RET(submit(&r, 2), 2);
    KT_EQ(wait_reap(&r, 2, c, 8), 2);
    int nfd = res_of(c, 2, 1);
    KT_TRUE(nfd >= 0, "openat: %d", nfd);
    KT_EQ(res_of(c, 2, 2), -ENOENT);
    char sx[256];
    memset(sx, 0, sizeof sx);
    prep(&r, OP_STATX, AT_FDCWD, "/tmp/uring_sx", 0x7ff, (uint64_t)(uintptr_t)sx, 3);
    prep(&r, OP_CLOSE, nfd, 0, 0, 0, 4);
    prep(&r, OP_CLOSE, 999, 0, 0, 0, 5);
    prep(&r, OP_CLOSE, r.fd, 0, 0, 0, 6);
    KT_SYS_RET(submit(&r, 4), 4);
    KT_EQ(wait_reap(&r, 4, c, 8), 4);
    KT_EQ(res_of(c, 4, 3), 0);
    KT_EQ(*(uint64_t *)(sx + 40), 5); /* stx_size */
    KT_EQ(res_of(c, 4, 4), 0);
    KT_EQ(res_of(c, 4, 5), -EBADF);
    KT_EQ(res_of(c, 4, 6), -EBADF);
    KT_SYS_ERR(fcntl(nfd, F_GETFD), EBADF);
    unlink("/tmp/uring_sx");
    ring_exit(&r);
}

KT_CASE(sockets) {
    struct ring r;
    struct cqe c[8];
    int sv[2];
    KT_SYS_RET(ring_init(&r, 8, 0), 0);
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    char buf[16] = {0};
    prep(&r, OP_RECV, sv[1], buf, 16, 0, 1);
    KT_SYS_RET(submit(&r, 1), 1);
    KT_EQ(ready(&r), 0);
    prep(&r, OP_SEND, sv[0], "ping", 4, 0, 2);
    KT_SYS_RET(submit(&r, 1), 1);
    KT_EQ(wait_reap(&r, 2, c, 8), 2);
    KT_EQ(res_of(c, 2, 2), 4);
    KT_EQ(res_of(c, 2, 1), 4);
    KT_EQ(memcmp(buf, "ping", 4), 0);
    /* MSG_DONTWAIT of the request's own: -EAGAIN */
    prep(&r, OP_RECV, sv[1], buf, 16, 0, 3)->op_flags = MSG_DONTWAIT;
    KT_SYS_RET(submit(&r, 1), 1);
    KT_EQ(wait_reap(&r, 1, c, 8), 1);
    KT_EQ(c[0].res, -EAGAIN);
    /* sendmsg/recvmsg */
    struct iovec wi = {"msg!", 4}, ri = {buf, 16};
    struct msghdr wm = {0}, rm = {0};
    wm.msg_iov = &wi;
    wm.msg_iovlen = 1;
    rm.msg_iov = &ri;
    rm.msg_iovlen = 1;
    prep(&r, OP_RECVMSG, sv[0], &rm, 1, 0, 4);
    prep(&r, OP_SENDMSG, sv[1], &wm, 1, 0, 5);
    KT_SYS_RET(submit(&r, 2), 2);
    KT_EQ(wait_reap(&r, 2, c, 8), 2);
    KT_EQ(res_of(c, 2, 4), 4);
    KT_EQ(res_of(c, 2, 5), 4);
    KT_EQ(memcmp(buf, "msg!", 4), 0);
    prep(&r, OP_SEND, 0, "x", 1, 0, 6);
    KT_SYS_RET(submit(&r, 1), 1);
    KT_EQ(wait_reap(&r, 1, c, 8), 1);
    KT_EQ(c[0].res, -ENOTSOCK);
    close(sv[0]);
    close(sv[1]);
    /* TCP on loopback: ACCEPT waits, CONNECT completes it */
    KT_SYS_RET(kt_lo_up(), 0);
    int ls = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sin;
    KT_SYS_OK(bind(ls, (void *)&sin, sizeof sin));
    KT_SYS_OK(listen(ls, 4));
    KT_SYS_OK(getsockname(ls, (void *)&sin, &sl));
    struct sockaddr_in peer;
    socklen_t pl = sizeof peer;
    prep(&r, OP_ACCEPT, ls, &peer, 0, (uint64_t)(uintptr_t)&pl, 7);
    KT_SYS_RET(submit(&r, 1), 1);
    KT_EQ(ready(&r), 0);
    int cs = KT_SYS_OK(socket(AF_INET, SOCK_STREAM, 0));
    prep(&r, OP_CONNECT, cs, &sin, 0, sizeof sin, 8);
    KT_SYS_RET(submit(&r, 1), 1);
    int got = wait_reap(&r, 2, c, 8);
    KT_TRUE(got == 2, "got %d: ud %lld res %d", got, got ? (long long)c[0].user_data : -1LL, got ? c[0].res : 0);
    KT_EQ(res_of(c, 2, 8), 0);
    int as = res_of(c, 2, 7);
    KT_TRUE(as >= 0, "accept: %d", as);
    KT_EQ(pl, sizeof peer);
    KT_EQ(peer.sin_family, AF_INET);
    KT_SYS_RET(write(cs, "tcp", 3), 3);
    KT_SYS_RET(read(as, buf, 16), 3);
    close(as);
    close(cs);
    close(ls);
    ring_exit(&r);
}

KT_CASE(register_probe_files_buffers_eventfd) {
    struct ring r;
    struct cqe c[8];
    KT_SYS_RET(ring_init(&r, 4, 0), 0);
    static unsigned char probe[16 + 8 * 256];
    memset(probe, 0, sizeof probe);
    KT_SYS_RET(u_register(r.fd, REG_PROBE, probe, 256), 0);
    KT_EQ(probe[0], OP_LAST - 1);
    KT_EQ(probe[1], OP_LAST);
    int want[] = {OP_NOP, OP_READV, OP_WRITEV, OP_FSYNC, OP_READ_FIXED, OP_WRITE_FIXED, OP_POLL_ADD,
                  OP_POLL_REMOVE, OP_SENDMSG, OP_RECVMSG, OP_TIMEOUT, OP_TIMEOUT_REMOVE, OP_ACCEPT,
                  OP_ASYNC_CANCEL, OP_LINK_TIMEOUT, OP_CONNECT, OP_OPENAT, OP_CLOSE, OP_STATX, OP_READ,
                  OP_WRITE, OP_SEND, OP_RECV};
    for (unsigned i = 0; i < sizeof want / sizeof want[0]; i++) {
        unsigned char *o = probe + 16 + 8 * want[i];
        KT_EQ(o[0], want[i]);
        KT_EQ(o[2] & 1, 1);
    }
    KT_SYS_ERR(u_register(r.fd, REG_PROBE, probe, 4), EINVAL);
    KT_SYS_ERR(u_register(r.fd, REG_PROBE, probe, 257), EINVAL);
    /* registered files */
    int p[2];
    KT_SYS_OK(pipe(p));
    int fds[3] = {-1, p[0], p[1]};
    KT_SYS_RET(u_register(r.fd, REG_FILES, fds, 3), 0);
    KT_SYS_ERR(u_register(r.fd, REG_FILES, fds, 3), EBUSY);
    char buf[8] = {0};
    prep(&r, OP_WRITE, 2, "fx", 2, 0, 1)->flags = SQE_FIXED_FILE;
    prep(&r, OP_READ, 1, buf, 8, 0, 2)->flags = SQE_FIXED_FILE;
    prep(&r, OP_READ, 0, buf, 8, 0, 3)->flags = SQE_FIXED_FILE;
    prep(&r, OP_READ, 9, buf, 8, 0, 4)->flags = SQE_FIXED_FILE;
    KT_SYS_RET(submit(&r, 4), 4);
    KT_EQ(wait_reap(&r, 4, c, 8), 4);
    KT_EQ(res_of(c, 4, 1), 2);
    KT_EQ(res_of(c, 4, 2), 2);
    KT_EQ(res_of(c, 4, 3), -EBADF);
    KT_EQ(res_of(c, 4, 4), -EBADF);
    KT_EQ(memcmp(buf, "fx", 2), 0);
    KT_SYS_RET(u_register(r.fd, UNREG_FILES, 0, 0), 0);
    KT_SYS_ERR(u_register(r.fd, UNREG_FILES, 0, 0), ENXIO);
    int self[1] = {r.fd};
    KT_SYS_ERR(u_register(r.fd, REG_FILES, self, 1), EBADF);
    /* registered buffers */
    char *area = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct iovec bv[1] = {{area, 4096}};
    KT_SYS_RET(u_register(r.fd, REG_BUFFERS, bv, 1), 0);
    KT_SYS_ERR(u_register(r.fd, REG_BUFFERS, bv, 1), EBUSY);
    memcpy(area, "fixed", 5);
    prep(&r, OP_WRITE_FIXED, p[1], area, 5, 0, 5);
    prep(&r, OP_READ_FIXED, p[0], area + 100, 5, 0, 6);
    prep(&r, OP_READ_FIXED, p[0], area + 4000, 200, 0, 7);
    prep(&r, OP_READ_FIXED, p[0], area, 5, 0, 8)->buf_index = 1;
    KT_SYS_RET(submit(&r, 4), 4);
    KT_EQ(wait_reap(&r, 4, c, 8), 4);
    KT_EQ(res_of(c, 4, 5), 5);
    KT_EQ(res_of(c, 4, 6), 5);
    KT_EQ(memcmp(area + 100, "fixed", 5), 0);
    KT_EQ(res_of(c, 4, 7), -EFAULT);
    KT_EQ(res_of(c, 4, 8), -EFAULT);
    /* an eventfd counts completions */
    int efd = KT_SYS_OK(eventfd(0, 0));
    KT_SYS_RET(u_register(r.fd, REG_EVENTFD, &efd, 1), 0);
    KT_SYS_ERR(u_register(r.fd, REG_EVENTFD, &efd, 1), EBUSY);
    prep(&r, OP_NOP, -1, 0, 0, 0, 9);
    KT_SYS_RET(submit(&r, 1), 1);
    uint64_t n = 0;
    KT_SYS_RET(read(efd, &n, 8), 8);
    KT_EQ(n, 1);
    reap(&r, c, 8);
    /* review37 L7: an _ASYNC eventfd is signalled only for completions of
     * io-wq workers: not for a NOP, for a pipe read that waited */
    KT_SYS_RET(u_register(r.fd, UNREG_EVENTFD, 0, 0), 0);
    int aefd = KT_SYS_OK(eventfd(0, EFD_NONBLOCK));
    KT_SYS_RET(u_register(r.fd, REG_EVENTFD_ASYNC, &aefd, 1), 0);
    prep(&r, OP_NOP, -1, 0, 0, 0, 10);
    KT_SYS_RET(submit(&r, 1), 1);
    KT_EQ(wait_reap(&r, 1, c, 8), 1);
    KT_SYS_ERR(read(aefd, &n, 8), EAGAIN);
    prep(&r, OP_READ, p[0], area, 1, -1ULL, 11);
    KT_SYS_RET(submit(&r, 1), 1);
    KT_SYS_RET(write(p[1], "a", 1), 1);
    KT_EQ(wait_reap(&r, 1, c, 8), 1);
    KT_EQ(res_of(c, 1, 11), 1);
    /* (6.1 hands a pipe read that would wait to an io-wq worker) */
    n = 0;
    KT_SYS_RET(read(aefd, &n, 8), 8);
    KT_EQ(n, 1);
    close(aefd);
    close(efd);
    ring_pipe_exit(&r, p);
}

KT_CASE(disabled_ring) {
    struct ring r;
    struct cqe c[4];
    KT_SYS_RET(ring_init(&r, 4, SETUP_R_DISABLED), 0);
    prep(&r, OP_NOP, -1, 0, 0, 0, 1);
    push(&r);
    KT_SYS_ERR(u_enter(r.fd, 1, 0, 0, 0, 0), EBADFD);
    KT_SYS_RET(u_register(r.fd, REG_ENABLE_RINGS, 0, 0), 0);
    KT_SYS_ERR(u_register(r.fd, REG_ENABLE_RINGS, 0, 0), EBADFD);
    KT_SYS_RET(u_enter(r.fd, 1, 1, ENTER_GETEVENTS, 0, 0), 1);
    KT_EQ(reap(&r, c, 4), 1);
    KT_EQ(c[0].user_data, 1);
    ring_exit(&r);
}

KT_CASE(exit_and_close_with_requests_waiting) {
    int p[2];
    KT_SYS_OK(pipe(p));
    pid_t c = fork();
    if (c == 0) {
        struct ring r;
        static char buf[8];
        struct kts tlong = {10, 0};
        if (ring_init(&r, 4, 0)) _exit(2);
        prep(&r, OP_READ, p[0], buf, 8, 0, 1);
        prep(&r, OP_TIMEOUT, -1, &tlong, 1, 0, 2);
        prep(&r, OP_POLL_ADD, p[0], 0, 0, 0, 3)->op_flags = POLLIN;
        if (submit(&r, 3) != 3) _exit(3);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    /* the child's read took nothing */
    KT_SYS_RET(write(p[1], "k", 1), 1);
    char b;
    KT_SYS_RET(read(p[0], &b, 1), 1);
    /* closing a ring with requests waiting ends them */
    struct ring r;
    char buf[8];
    KT_SYS_RET(ring_init(&r, 4, 0), 0);
    prep(&r, OP_READ, p[0], buf, 8, 0, 1);
    KT_SYS_RET(submit(&r, 1), 1);
    ring_exit(&r);
    KT_SYS_RET(write(p[1], "m", 1), 1);
    KT_SYS_RET(read(p[0], &b, 1), 1);
    KT_EQ(b, 'm');
    close(p[0]);
    close(p[1]);
}

/* user space scribbling over the shared memory: the SQ tail far ahead,
 * array entries and SQE fields random (opcodes limited to ones that touch
 * only the pipe, the ring and memory they are given). Every call returns
 * at most what was asked, the CQ tail never runs more than the CQ size
 * ahead of the head the kernel last saw, and the ring still works. */
KT_CASE(hostile_ring_memory) {
    struct ring r;
    struct cqe c[64];
    int p[2];
    KT_SYS_RET(ring_pipe(&r, 8, p), 0);
    KT_SYS_OK(fcntl(p[1], F_SETFL, O_NONBLOCK));
    static const int ops[] = {OP_NOP, OP_READ, OP_POLL_ADD, OP_TIMEOUT, OP_ASYNC_CANCEL, OP_TIMEOUT_REMOVE,
                              OP_POLL_REMOVE, OP_LINK_TIMEOUT, OP_LAST, 200};
    unsigned seed = 12345;
#define RND() (seed = seed * 1103515245u + 12345u, seed >> 8)
    static char junk[256];
    for (int round = 0; round < 300; round++) {
        unsigned n = RND() % 12;
        for (unsigned i = 0; i < 8; i++) {
            struct sqe *s = &r.sqes[i];
            uint32_t *w = (uint32_t *)s;
            for (int k = 0; k < 16; k++) w[k] = RND();
            s->opcode = ops[RND() % 10];
            s->fd = RND() % 3 ? p[0] : (int)RND();
            s->addr = RND() % 2 ? (uint64_t)(uintptr_t)junk : s->addr;
            s->len = RND() % 2 ? 1 : s->len;
            s->flags &= 0x7f;
            ((uint32_t *)(r.rings + r.p.sq_off.array))[i] = RND() % 4 ? RND() % 8 : RND();
        }
        uint32_t head = *RU32(&r, r.p.sq_off.head);
        r.tail = RND() % 5 ? head + n : RND();
        push(&r);
        long got = u_enter(r.fd, n, 0, 0, 0, 0);
        KT_TRUE(got <= (long)n, "enter(%u) = %ld", n, got);
        if (RND() % 4 == 0) KT_SYS_RET(write(p[1], "d", 1), 1);
        if (RND() % 7 == 0) *RU32(&r, r.p.cq_off.head) = RND();
        uint32_t seen = *RU32(&r, r.p.cq_off.head);
        reap(&r, c, 64);
        uint32_t tail = *RU32(&r, r.p.cq_off.tail);
        KT_TRUE(tail - seen <= 16 || seen - tail < 0x80000000u, "tail %u head %u", tail, seen);
    }
    /* still a ring: a NOP comes back */
    memset(r.rings + r.p.sq_off.array, 0, 32);
    r.tail = *RU32(&r, r.p.sq_off.head);
    *RU32(&r, r.p.cq_off.head) = *RU32(&r, r.p.cq_off.tail);
    prep(&r, OP_ASYNC_CANCEL, -1, 0, 0, 0, 0)->op_flags = 1 << 2; /* IORING_ASYNC_CANCEL_ANY */
    KT_SYS_RET(submit(&r, 1), 1);
    enter_wait_ms(&r, 0, 1, 1000);
    reap(&r, c, 64);
    prep(&r, OP_NOP, -1, 0, 0, 0, 4242);
    KT_SYS_RET(submit(&r, 1), 1);
    /* (overflowed CQEs of the scribbling come first) */
    int found = 0;
    for (int i = 0; i < 20 && !found; i++) {
        int k = wait_reap(&r, 1, c, 64);
        found = res_of(c, k, 4242) == 0;
    }
    KT_TRUE(found, "the NOP's CQE");
    ring_exit(&r);
    close(p[0]);
    close(p[1]);
}

/* ----- review37's findings (uring37) ----- */

static long ms_since(const struct timespec *t0) {
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* H2: TIMEOUT's count is a u32 (Linux's io_timeout.off): 1 << 32 | 1 counts
 * one completion, ~0 counts 4294967295 (the deadline comes first), 1 << 32
 * is no count at all. */
KT_CASE(timeout_count_is_u32) {
    struct ring r;
    struct cqe c[8];
    KT_SYS_RET(ring_init(&r, 8, 0), 0);
    struct kts t30 = {0, 30 * 1000 * 1000}, tlong = {10, 0};
    prep(&r, OP_TIMEOUT, -1, &tlong, 1, (1ULL << 32) | 1, 1);
    prep(&r, OP_NOP, -1, 0, 0, 0, 2);
    KT_SYS_RET(submit(&r, 2), 2);
    KT_EQ(wait_reap(&r, 2, c, 8), 2);
    KT_EQ(res_of(c, 2, 1), 0);
    KT_EQ(res_of(c, 2, 2), 0);
    prep(&r, OP_TIMEOUT, -1, &t30, 1, ~0ULL, 3);
    prep(&r, OP_NOP, -1, 0, 0, 0, 4);
    KT_SYS_RET(submit(&r, 2), 2);
    KT_EQ(wait_reap(&r, 2, c, 8), 2);
    KT_EQ(res_of(c, 2, 3), -ETIME);
    KT_EQ(res_of(c, 2, 4), 0);
    prep(&r, OP_TIMEOUT, -1, &t30, 1, 1ULL << 32, 5);
    prep(&r, OP_NOP, -1, 0, 0, 0, 6);
    KT_SYS_RET(submit(&r, 2), 2);
    KT_EQ(wait_reap(&r, 2, c, 8), 2);
    KT_EQ(res_of(c, 2, 5), -ETIME);
    KT_EQ(res_of(c, 2, 6), 0);
    ring_exit(&r);
}

#define BL_FIFO "/tmp/uring_fifo"
static struct ring *bl_ring;
static int bl_hold[2];
static void *bl_open(void *a) {
    (void)a;
    /* O_CREAT: Linux hands the open to an io-wq worker at once; ours opens
     * it inline, sleeping for a writer with the submission lock held */
    prep(bl_ring, OP_OPENAT, AT_FDCWD, BL_FIFO, 0600, 0, 2)->op_flags = O_RDONLY | O_CREAT;
    long r = submit(bl_ring, 1);
    /* alive until told (Linux's io-wq worker ends with its task: the open
     * would be -EINTR) */
    char b;
    if (read(bl_hold[0], &b, 1) != 1) r = -100;
    return (void *)r;
}
static void *bl_writer(void *a) {
    (void)a;
    kt_msleep(1500);
    return (void *)(long)open(BL_FIFO, O_WRONLY);
}

/* H1: a waiter whose TIMEOUT is due while another thread's io_uring_enter
 * sleeps in a blocking open (holding the submission lock) gets the CQE at
 * the deadline (before: it spun in the kernel until the open ended). And
 * M6's part: an OPENAT without O_CREAT/O_TRUNC is tried with O_NONBLOCK, as
 * Linux: a FIFO's read side opens at once (no O_NONBLOCK left on it), its
 * write side with no reader is -ENXIO. */
KT_CASE(wait_while_another_submitter_blocks) {
    struct ring r;
    struct cqe c[8];
    unlink(BL_FIFO);
    KT_SYS_OK(mkfifo(BL_FIFO, 0600));
    KT_SYS_RET(ring_init(&r, 8, 0), 0);
    struct kts t50 = {0, 50 * 1000 * 1000};
    prep(&r, OP_TIMEOUT, -1, &t50, 1, 0, 1);
    KT_SYS_RET(submit(&r, 1), 1);
    bl_ring = &r;
    KT_SYS_OK(pipe(bl_hold));
    pthread_t a, w;
    KT_EQ(pthread_create(&w, 0, bl_writer, 0), 0);
    KT_EQ(pthread_create(&a, 0, bl_open, 0), 0);
    kt_msleep(20);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    enter_wait_ms(&r, 0, 1, 3000);
    long ms = ms_since(&t0);
    int n = reap(&r, c, 8);
    KT_TRUE(ms < 1000, "the TIMEOUT's CQE after %ld ms", ms);
    KT_EQ(n, 1);
    KT_EQ(res_of(c, n, 1), -ETIME);
    void *wr, *ar;
    pthread_join(w, &wr);
    KT_TRUE((long)wr >= 0, "the writer's open: %ld", (long)wr);
    n = wait_reap(&r, 1, c, 8);
    int fd = res_of(c, n, 2);
    KT_TRUE(fd >= 0, "OPENAT(O_CREAT) of the FIFO: %d", fd);
    KT_SYS_RET(write(bl_hold[1], "g", 1), 1);
    pthread_join(a, &ar);
    KT_EQ((long)ar, 1);
    close(bl_hold[0]);
    close(bl_hold[1]);
    close(fd);
    close((int)(long)wr);
    /* the non-blocking try */
    prep(&r, OP_OPENAT, AT_FDCWD, BL_FIFO, 0, 0, 3)->op_flags = O_WRONLY;
    KT_SYS_RET(submit(&r, 1), 1);
    n = wait_reap(&r, 1, c, 8);
    KT_EQ(res_of(c, n, 3), -ENXIO);
    prep(&r, OP_OPENAT, AT_FDCWD, BL_FIFO, 0, 0, 4)->op_flags = O_RDONLY;
    KT_SYS_RET(submit(&r, 1), 1);
    n = wait_reap(&r, 1, c, 8);
    fd = res_of(c, n, 4);
    KT_TRUE(fd >= 0, "OPENAT(O_RDONLY) of the FIFO: %d", fd);
    KT_EQ(fcntl(fd, F_GETFL) & (O_ACCMODE | O_NONBLOCK), O_RDONLY);
    close(fd);
    unlink(BL_FIFO);
    ring_exit(&r);
}

/* H3: an io_uring fd is refused in SCM_RIGHTS (EINVAL, as Linux since the
 * fix for CVE-2023-6531: a ring holding the socket it travels in would be a
 * cycle nothing frees); nothing is queued, other fds still go. */
KT_CASE(ring_fd_refused_in_scm_rights) {
    struct ring r;
    int sv[2];
    KT_SYS_RET(ring_init(&r, 4, 0), 0);
    KT_SYS_OK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    KT_SYS_RET(u_register(r.fd, REG_FILES, &sv[1], 1), 0);
    union {
        char b[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } cb;
    memset(&cb, 0, sizeof cb);
    struct iovec iov = {"x", 1};
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = cb.b;
    m.msg_controllen = sizeof cb.b;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &r.fd, sizeof(int));
    KT_SYS_ERR(sendmsg(sv[0], &m, 0), EINVAL);
    char b;
    KT_SYS_ERR(recv(sv[1], &b, 1, MSG_DONTWAIT), EAGAIN);
    int other = KT_SYS_OK(dup(sv[0]));
    memcpy(CMSG_DATA(cm), &other, sizeof(int));
    KT_SYS_RET(sendmsg(sv[0], &m, 0), 1);
    KT_SYS_RET(recv(sv[1], &b, 1, 0), 1);
    close(other);
    close(sv[0]);
    close(sv[1]);
    ring_exit(&r);
}

/* M1: the rest of a chain runs in its submitter's context. The parent's
 * POLL_ADD(pipe) links to a READ into the parent's buffer; a fork child
 * sharing the ring wakes the poll and waits on the ring: the READ fills the
 * parent's buffer (before: it ran in the child, into the child's copy). */
KT_CASE(chain_runs_in_its_submitter) {
    struct ring r;
    struct cqe c[8];
    int p[2];
    static char buf[64];
    memset(buf, 0, sizeof buf);
    KT_SYS_RET(ring_pipe(&r, 8, p), 0);
    struct sqe *s = prep(&r, OP_POLL_ADD, p[0], 0, 0, 0, 1);
    s->op_flags = POLLIN;
    s->flags = SQE_IO_LINK;
    prep(&r, OP_READ, p[0], buf, 64, -1ULL, 2);
    KT_SYS_RET(submit(&r, 2), 2);
    pid_t ch = fork();
    if (ch == 0) {
        if (write(p[1], "x", 1) != 1) _exit(2);
        enter_wait_ms(&r, 0, 1, 2000);
        /* (no reaping: the CQEs are the parent's) */
        _exit(buf[0] == 0 ? 0 : 3);
    }
    KT_WAIT_STATUS(ch, kt_exited(0));
    int n = wait_reap(&r, 2, c, 8);
    KT_EQ(n, 2);
    KT_EQ(res_of(c, n, 1), POLLIN);
    KT_EQ(res_of(c, n, 2), 1);
    KT_EQ(buf[0], 'x');
    ring_pipe_exit(&r, p);
}

/* M2, M3: a submitter's requests end when it exits or execs, while another
 * process holds the ring: -ECANCELED, and the pipe's byte is not taken
 * (before: they stayed parked for ever, or ran in the new image). */
KT_CASE(submitter_exit_and_exec_cancel) {
    struct ring r;
    struct cqe c[8];
    int p[2];
    static char buf[8];
    KT_SYS_RET(ring_pipe(&r, 8, p), 0);
    pid_t ch = fork();
    if (ch == 0) {
        prep(&r, OP_READ, p[0], buf, 1, -1ULL, 1);
        _exit(submit(&r, 1) == 1 ? 0 : 2);
    }
    KT_WAIT_STATUS(ch, kt_exited(0));
    r.tail = *RU32(&r, r.p.sq_off.tail);
    KT_SYS_RET(write(p[1], "x", 1), 1);
    int n = wait_reap(&r, 1, c, 8);
    KT_EQ(n, 1);
    KT_EQ(res_of(c, n, 1), -ECANCELED);
    char b = 0;
    KT_SYS_RET(read(p[0], &b, 1), 1);
    KT_EQ(b, 'x');
    /* exec: the new image runs none of them */
    int cp[2];
    KT_SYS_OK(pipe2(cp, O_CLOEXEC));
    ch = fork();
    if (ch == 0) {
        close(cp[0]);
        prep(&r, OP_READ, p[0], buf, 1, -1ULL, 2);
        if (submit(&r, 1) != 1) _exit(2);
        execl(kt_self, kt_self, "kt-sleep", (char *)0);
        _exit(3);
    }
    close(cp[1]);
    KT_SYS_RET(read(cp[0], &b, 1), 0);
    close(cp[0]);
    r.tail = *RU32(&r, r.p.sq_off.tail);
    n = wait_reap(&r, 1, c, 8);
    KT_EQ(n, 1);
    KT_EQ(res_of(c, n, 2), -ECANCELED);
    KT_SYS_RET(write(p[1], "y", 1), 1);
    KT_SYS_RET(read(p[0], &b, 1), 1);
    KT_EQ(b, 'y');
    kill(ch, SIGKILL);
    KT_WAIT_STATUS(ch, kt_killed(SIGKILL));
    ring_pipe_exit(&r, p);
}

/* L4: to_submit beyond the SQ size: the count submitted is not what was
 * asked, so GETEVENTS does not wait (Linux compares with to_submit). */
KT_CASE(to_submit_beyond_sq_size_does_not_wait) {
    struct ring r;
    struct cqe c[16];
    KT_SYS_RET(ring_init(&r, 4, 0), 0);
    for (int i = 0; i < 4; i++) prep(&r, OP_NOP, -1, 0, 0, 0, 10 + i);
    push(&r);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    KT_SYS_RET(enter_wait_ms(&r, 8, 6, 1000), 4);
    long ms = ms_since(&t0);
    KT_TRUE(ms < 500, "returned after %ld ms", ms);
    KT_EQ(reap(&r, c, 16), 4);
    ring_exit(&r);
}

/* M7's part: registered buffers are charged to the ring creator's user
 * against RLIMIT_MEMLOCK when it lacks CAP_IPC_LOCK (6.1's
 * io_buffer_account_pin): ENOMEM past the limit, the count is the user's
 * (shared by its rings) and UNREGISTER gives it back; a range counts the
 * pages it spans. */
KT_CASE(registered_buffers_charge_memlock) {
    pid_t ch = fork();
    if (ch == 0) {
        struct rlimit rl = {64 * 1024, 64 * 1024};
        if (setrlimit(RLIMIT_MEMLOCK, &rl)) _exit(2);
        if (setgid(65534) || setuid(65534)) _exit(3);
        char *m = mmap(0, 256 * 1024, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        if (m == MAP_FAILED) _exit(4);
        struct ring r, r2;
        if (ring_init(&r, 4, 0) || ring_init(&r2, 4, 0)) _exit(5);
        struct iovec big = {m, 128 * 1024}, fit = {m, 64 * 1024}, small = {m, 32 * 1024}, odd = {m + 4095, 2};
        struct iovec two[2] = {{m, 32 * 1024}, {m + 100 * 1024, 40 * 1024}};
        if (u_register(r.fd, REG_BUFFERS, &big, 1) != -1 || errno != ENOMEM) _exit(6);
        if (u_register(r.fd, REG_BUFFERS, two, 2) != -1 || errno != ENOMEM) _exit(7);
        if (u_register(r.fd, REG_BUFFERS, &fit, 1) != 0) _exit(8);
        /* the user's count: the other ring finds no room left */
        if (u_register(r2.fd, REG_BUFFERS, &odd, 1) != -1 || errno != ENOMEM) _exit(9);
        if (u_register(r.fd, UNREG_BUFFERS, 0, 0) != 0) _exit(10);
        /* 2 bytes across a page boundary: 2 pages; then 8 more fit */
        if (u_register(r2.fd, REG_BUFFERS, &odd, 1) != 0) _exit(11);
        if (u_register(r.fd, REG_BUFFERS, &small, 1) != 0) _exit(12);
        if (u_register(r.fd, UNREG_BUFFERS, 0, 0) != 0) _exit(13);
        if (u_register(r.fd, REG_BUFFERS, &fit, 1) != -1 || errno != ENOMEM) _exit(14);
        _exit(0);
    }
    KT_WAIT_STATUS(ch, kt_exited(0));
}

/* M7: registered buffers are pinned (6.1's pin_user_pages with
 * FOLL_LONGTERM): after an munmap of the range, and with a new mapping
 * over it, READ_FIXED and WRITE_FIXED use the registered pages, across a
 * page boundary; the new mapping sees none of it; unregistered, the
 * requests are EFAULT. */
static int run1(struct ring *r) {
    struct cqe c[4];
    if (submit(r, 1) != 1) return -10000;
    if (wait_reap(r, 1, c, 4) != 1) return -10001;
    return c[0].res;
}

KT_CASE(registered_buffers_are_pinned) {
    struct ring r;
    int p[2];
    KT_SYS_RET(ring_pipe(&r, 4, p), 0);
    char *m = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KT_TRUE(m != MAP_FAILED, "mmap");
    for (int i = 0; i < 8192; i++) m[i] = 'a' + i % 26;
    struct iovec iov = {m, 8192};
    KT_SYS_RET(u_register(r.fd, REG_BUFFERS, &iov, 1), 0);
    KT_SYS_OK(munmap(m, 8192));
    /* the unmapped range written out: the pages' bytes */
    prep(&r, OP_WRITE_FIXED, p[1], m + 4090, 10, 0, 1);
    KT_EQ(run1(&r), 10);
    char got[16] = {0};
    KT_SYS_RET(read(p[0], got, sizeof got), 10);
    for (int i = 0; i < 10; i++) KT_EQ(got[i], 'a' + (4090 + i) % 26);
    /* read into it, a new mapping over it, written out again */
    KT_SYS_RET(write(p[1], "pinned!", 7), 7);
    prep(&r, OP_READ_FIXED, p[0], m + 4093, 7, 0, 2);
    KT_EQ(run1(&r), 7);
    char *n = mmap(m, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    KT_TRUE(n == m, "mmap at %p: %p", (void *)m, (void *)n);
    KT_EQ(n[4093], 0);
    prep(&r, OP_WRITE_FIXED, p[1], m + 4092, 9, 0, 3);
    KT_EQ(run1(&r), 9);
    KT_SYS_RET(read(p[0], got, sizeof got), 9);
    KT_EQ(memcmp(got, "kpinned!s", 9), 0); /* (4092 % 26: k, 4100 % 26: s) */
    KT_EQ(n[4093], 0);
    /* unregistered: refused */
    KT_SYS_RET(u_register(r.fd, UNREG_BUFFERS, 0, 0), 0);
    prep(&r, OP_READ_FIXED, p[0], m, 1, 0, 4);
    KT_EQ(run1(&r), -EFAULT);
    munmap(n, 8192);
    ring_pipe_exit(&r, p);
}

/* A registered buffer across fork: the child gets a copy of the pinned
 * page (6.1's copy_present_page for a maybe-pinned page), so the
 * parent's writes after the fork are what WRITE_FIXED sends and the
 * child's never are. */
KT_CASE(registered_buffer_across_fork) {
    struct ring r;
    int p[2], go[2];
    KT_SYS_RET(ring_pipe(&r, 4, p), 0);
    KT_SYS_OK(pipe(go));
    char *m = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KT_TRUE(m != MAP_FAILED, "mmap");
    memcpy(m, "before", 6);
    struct iovec iov = {m, 4096};
    KT_SYS_RET(u_register(r.fd, REG_BUFFERS, &iov, 1), 0);
    pid_t ch = KT_SYS_OK(fork());
    if (ch == 0) {
        memcpy(m, "child!", 6);
        _exit(write(go[1], "c", 1) == 1 && strncmp(m, "child!", 6) == 0 ? 0 : 1);
    }
    char b;
    KT_SYS_RET(read(go[0], &b, 1), 1);
    memcpy(m + 6, "+after", 6);
    prep(&r, OP_WRITE_FIXED, p[1], m, 12, 0, 1);
    KT_EQ(run1(&r), 12);
    char got[16] = {0};
    KT_SYS_RET(read(p[0], got, sizeof got), 12);
    KT_EQ(memcmp(got, "before+after", 12), 0);
    KT_WAIT_STATUS(ch, kt_exited(0));
    /* still the parent's page after the child is gone */
    memcpy(m, "parent", 6);
    prep(&r, OP_WRITE_FIXED, p[1], m, 6, 0, 2);
    KT_EQ(run1(&r), 6);
    KT_SYS_RET(read(p[0], got, sizeof got), 6);
    KT_EQ(memcmp(got, "parent", 6), 0);
    munmap(m, 4096);
    close(go[0]);
    close(go[1]);
    ring_pipe_exit(&r, p);
}

/* M5's part: a poll of the ring fd sees a parked read that its file woke
 * (POLLIN; Linux has run the task work and posted the CQE, this kernel
 * tells the poller to enter, as 6.1's io_has_work for DEFER_TASKRUN); the
 * CQE then comes with an io_uring_enter. */
KT_CASE(ring_fd_poll_sees_woken_request) {
    struct ring r;
    struct cqe c[8];
    int p[2];
    static char buf[8];
    KT_SYS_RET(ring_pipe(&r, 8, p), 0);
    prep(&r, OP_READ, p[0], buf, 8, -1ULL, 1);
    KT_SYS_RET(submit(&r, 1), 1);
    struct pollfd pf = {r.fd, POLLIN, 0};
    KT_SYS_RET(poll(&pf, 1, 50), 0);
    KT_SYS_RET(write(p[1], "w", 1), 1);
    pf.revents = 0;
    KT_SYS_RET(poll(&pf, 1, 2000), 1);
    KT_EQ(pf.revents & POLLIN, POLLIN);
    KT_EQ(wait_reap(&r, 1, c, 8), 1);
    KT_EQ(res_of(c, 1, 1), 1);
    KT_EQ(buf[0], 'w');
    /* the same through an edge-triggered epoll */
    int ep = KT_SYS_OK(epoll_create1(0));
    struct epoll_event ev = {EPOLLIN | EPOLLET, {.u64 = 7}};
    KT_SYS_RET(epoll_ctl(ep, EPOLL_CTL_ADD, r.fd, &ev), 0);
    prep(&r, OP_READ, p[0], buf, 8, -1ULL, 2);
    KT_SYS_RET(submit(&r, 1), 1);
    KT_SYS_RET(epoll_wait(ep, &ev, 1, 50), 0);
    KT_SYS_RET(write(p[1], "e", 1), 1);
    KT_SYS_RET(epoll_wait(ep, &ev, 1, 2000), 1);
    KT_EQ(ev.data.u64 == 7 && (ev.events & EPOLLIN), 1);
    KT_EQ(wait_reap(&r, 1, c, 8), 1);
    KT_EQ(res_of(c, 1, 2), 1);
    KT_EQ(buf[0], 'e');
    close(ep);
    ring_pipe_exit(&r, p);
}

/* SQPOLL as liburing drives it (fio --sqthread_poll): after publishing the
   tail, io_uring_enter(IORING_ENTER_SQ_WAKEUP) only when the SQ ring's
   IORING_SQ_NEED_WAKEUP is set (the thread went idle: sq_thread_idle 1 ms,
   so after a pause it is set on Linux too); enter answers to_submit */
KT_CASE(sqpoll_with_the_wakeup_protocol) {
    struct uring_params p;
    memset(&p, 0, sizeof p);
    p.flags = SETUP_SQ_AFF;
    KT_SYS_ERR(u_setup(4, &p), EINVAL);
    memset(&p, 0, sizeof p);
    p.flags = SETUP_SQPOLL | SETUP_SQ_AFF;
    p.sq_thread_cpu = 4096;
    KT_SYS_ERR(u_setup(4, &p), EINVAL);
    memset(&p, 0, sizeof p);
    p.flags = SETUP_SQPOLL | SETUP_COOP_TASKRUN;
    KT_SYS_ERR(u_setup(4, &p), EINVAL);
    struct ring r;
    memset(&r, 0, sizeof r);
    r.p.flags = SETUP_SQPOLL | SETUP_SQ_AFF;
    r.p.sq_thread_cpu = 0;
    r.p.sq_thread_idle = 1;
    KT_SYS_RET(ring_init_p(&r, 8), 0);
    KT_TRUE(r.p.features & FEAT_SQPOLL_NONFIXED, "features %#x", r.p.features);
    int fd = KT_SYS_OK(open("/tmp/uring_sqpoll", O_RDWR | O_CREAT | O_TRUNC, 0600));
    char a[] = "sqpoll", out[16] = {0};
    struct cqe c[8];
    for (int round = 0; round < 3; round++) {
        usleep(50000);
        KT_TRUE(__atomic_load_n(RU32(&r, r.p.sq_off.flags), __ATOMIC_ACQUIRE) & SQ_NEED_WAKEUP, "round %d", round);
        prep(&r, OP_WRITE, fd, a, 6, round * 6, 10 * round + 1)->flags = SQE_IO_LINK;
        prep(&r, OP_READ, fd, out, 6, round * 6, 10 * round + 2);
        push(&r);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (__atomic_load_n(RU32(&r, r.p.sq_off.flags), __ATOMIC_ACQUIRE) & SQ_NEED_WAKEUP)
            KT_SYS_RET(u_enter(r.fd, 2, 0, ENTER_SQ_WAKEUP, 0, 0), 2);
        KT_EQ(wait_reap(&r, 2, c, 8), 2);
        KT_EQ(res_of(c, 2, 10 * round + 1), 6);
        KT_EQ(res_of(c, 2, 10 * round + 2), 6);
        KT_TRUE(memcmp(out, "sqpoll", 6) == 0, "[%s]", out);
        memset(out, 0, sizeof out);
    }
    struct stat st;
    KT_SYS_OK(fstat(fd, &st));
    KT_EQ(st.st_size, 18);
    /* an empty SQ: enter still answers to_submit, GETEVENTS with none
       wanted answers 0 */
    usleep(50000);
    KT_SYS_RET(u_enter(r.fd, 5, 0, ENTER_SQ_WAKEUP, 0, 0), 5);
    KT_SYS_RET(u_enter(r.fd, 0, 0, ENTER_GETEVENTS, 0, 0), 0);
    KT_EQ(ready(&r), 0);
    close(fd);
    unlink("/tmp/uring_sqpoll");
    ring_exit(&r);
}

/* ----- uring38: progress without io_uring_enter, blocking work off the
   submission lock ----- */

static int lw_fd;
static void *late_write(void *a) {
    kt_msleep((int)(long)a);
    return (void *)(long)write(lw_fd, "x", 1);
}

/* review37 M5: completions progress without an io_uring_enter (Linux's task
 * work, run when the submitter returns to user mode, its sleep interrupted by
 * TWA_SIGNAL; timeouts on their own hrtimer): a pipe read written by another
 * thread or process, waited for with poll() on the registered eventfd only,
 * or by reading the CQ ring in a loop; a 50 ms TIMEOUT the same. */
KT_CASE(completions_progress_without_enter) {
    struct ring r;
    struct cqe c[8];
    int p[2];
    static char buf[8];
    uint64_t v;
    struct timespec t0;
    KT_SYS_RET(ring_init(&r, 8, 0), 0);
    int efd = KT_SYS_OK(eventfd(0, EFD_NONBLOCK));
    KT_SYS_RET(u_register(r.fd, REG_EVENTFD, &efd, 1), 0);
    KT_SYS_OK(pipe(p));
    lw_fd = p[1];
    /* a thread writes the pipe; this one polls the eventfd */
    prep(&r, OP_READ, p[0], buf, 8, -1ULL, 1);
    KT_SYS_RET(submit(&r, 1), 1);
    KT_EQ(ready(&r), 0);
    pthread_t w;
    KT_EQ(pthread_create(&w, 0, late_write, (void *)50L), 0);
    struct pollfd pf = {efd, POLLIN, 0};
    KT_SYS_RET(poll(&pf, 1, 3000), 1);
    KT_EQ(ready(&r), 1);
    KT_SYS_RET(read(efd, &v, 8), 8);
    KT_EQ(v, 1);
    KT_EQ(reap(&r, c, 8), 1);
    KT_EQ(res_of(c, 1, 1), 1);
    KT_EQ(buf[0], 'x');
    void *wr;
    pthread_join(w, &wr);
    KT_EQ((long)wr, 1);
    /* another process writes it */
    prep(&r, OP_READ, p[0], buf, 8, -1ULL, 2);
    KT_SYS_RET(submit(&r, 1), 1);
    pid_t ch = KT_SYS_OK(fork());
    if (ch == 0) {
        kt_msleep(50);
        _exit(write(p[1], "y", 1) == 1 ? 0 : 1);
    }
    pf.revents = 0;
    KT_SYS_RET(poll(&pf, 1, 3000), 1);
    KT_EQ(ready(&r), 1);
    KT_SYS_RET(read(efd, &v, 8), 8);
    KT_EQ(reap(&r, c, 8), 1);
    KT_EQ(res_of(c, 1, 2), 1);
    KT_EQ(buf[0], 'y');
    KT_WAIT_STATUS(ch, kt_exited(0));
    /* a 50 ms TIMEOUT, the eventfd polled */
    struct kts t50 = {0, 50 * 1000 * 1000};
    prep(&r, OP_TIMEOUT, -1, &t50, 1, 0, 3);
    KT_SYS_RET(submit(&r, 1), 1);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pf.revents = 0;
    KT_SYS_RET(poll(&pf, 1, 3000), 1);
    long ms = ms_since(&t0);
    KT_TRUE(ms >= 40 && ms < 1000, "the TIMEOUT's eventfd after %ld ms", ms);
    KT_EQ(ready(&r), 1);
    KT_SYS_RET(read(efd, &v, 8), 8);
    KT_EQ(v, 1);
    KT_EQ(reap(&r, c, 8), 1);
    KT_EQ(res_of(c, 1, 3), -ETIME);
    /* the CQ ring read in a loop, no system call but the clock's */
    prep(&r, OP_TIMEOUT, -1, &t50, 1, 0, 4);
    KT_SYS_RET(submit(&r, 1), 1);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (ready(&r) == 0 && ms_since(&t0) < 3000) {
    }
    ms = ms_since(&t0);
    KT_TRUE(ms >= 40 && ms < 1000, "the TIMEOUT's CQE after %ld ms", ms);
    KT_EQ(reap(&r, c, 8), 1);
    KT_EQ(res_of(c, 1, 4), -ETIME);
    prep(&r, OP_READ, p[0], buf, 8, -1ULL, 5);
    KT_SYS_RET(submit(&r, 1), 1);
    KT_EQ(pthread_create(&w, 0, late_write, (void *)20L), 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (ready(&r) == 0 && ms_since(&t0) < 3000) {
    }
    ms = ms_since(&t0);
    KT_TRUE(ms < 1000, "the READ's CQE after %ld ms", ms);
    KT_EQ(reap(&r, c, 8), 1);
    KT_EQ(res_of(c, 1, 5), 1);
    pthread_join(w, &wr);
    /* a sleep the notification interrupts is not cut short (nanosleep
       restarts) */
    prep(&r, OP_READ, p[0], buf, 8, -1ULL, 6);
    KT_SYS_RET(submit(&r, 1), 1);
    KT_EQ(pthread_create(&w, 0, late_write, (void *)20L), 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct timespec req = {0, 200 * 1000 * 1000};
    KT_SYS_RET(nanosleep(&req, 0), 0);
    ms = ms_since(&t0);
    KT_TRUE(ms >= 190, "nanosleep(200 ms) took %ld ms", ms);
    KT_EQ(reap(&r, c, 8), 1);
    KT_EQ(res_of(c, 1, 6), 1);
    pthread_join(w, &wr);
    close(efd);
    ring_pipe_exit(&r, p);
}

static struct ring *sl_ring;
static int sl_hold[2], sl_pipe[2];
static char sl_buf[8];
static void *sl_open(void *a) {
    (void)a;
    prep(sl_ring, OP_READ, sl_pipe[0], sl_buf, 8, -1ULL, 3);
    prep(sl_ring, OP_OPENAT, AT_FDCWD, BL_FIFO, 0600, 0, 1)->op_flags = O_RDONLY | O_CREAT;
    long r = submit(sl_ring, 2);
    /* alive until told (Linux's io-wq worker ends with its task: the open
       would be -EINTR) */
    char b;
    if (read(sl_hold[0], &b, 1) != 1) r = -100;
    return (void *)r;
}

/* review37 M6: an OPENAT with O_CREAT that waits (a FIFO's read side with
 * no writer) does not hold the submission lock: another thread's NOP is
 * submitted and completes meanwhile (Linux: the open runs in an io-wq
 * worker); a read the same thread submitted before it completes when its
 * pipe is written, and the open is not cut short by that (-EINTR). */
KT_CASE(blocking_request_leaves_submission_lock) {
    struct ring r;
    struct cqe c[8];
    unlink(BL_FIFO);
    KT_SYS_OK(mkfifo(BL_FIFO, 0600));
    KT_SYS_RET(ring_init(&r, 8, 0), 0);
    sl_ring = &r;
    KT_SYS_OK(pipe(sl_hold));
    KT_SYS_OK(pipe(sl_pipe));
    pthread_t a;
    KT_EQ(pthread_create(&a, 0, sl_open, 0), 0);
    kt_msleep(100);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    prep(&r, OP_NOP, -1, 0, 0, 0, 2);
    KT_SYS_RET(submit(&r, 1), 1);
    int n = wait_reap(&r, 1, c, 8);
    long ms = ms_since(&t0);
    KT_TRUE(ms < 500, "the NOP's CQE after %ld ms", ms);
    KT_EQ(n, 1);
    KT_EQ(res_of(c, n, 2), 0);
    KT_SYS_RET(write(sl_pipe[1], "r", 1), 1);
    kt_msleep(50);
    int wfd = KT_SYS_OK(open(BL_FIFO, O_WRONLY));
    n = wait_reap(&r, 2, c, 8);
    KT_EQ(n, 2);
    KT_EQ(res_of(c, n, 3), 1);
    KT_EQ(sl_buf[0], 'r');
    int fd = res_of(c, n, 1);
    KT_TRUE(fd >= 0, "OPENAT(O_CREAT) of the FIFO: %d", fd);
    KT_SYS_RET(write(sl_hold[1], "g", 1), 1);
    void *ar;
    pthread_join(a, &ar);
    KT_EQ((long)ar, 2);
    close(sl_hold[0]);
    close(sl_hold[1]);
    close(sl_pipe[0]);
    close(sl_pipe[1]);
    close(fd);
    close(wfd);
    unlink(BL_FIFO);
    ring_exit(&r);
}

KT_MAIN()
