/* Linux native AIO: io_setup's checks and ring (the header libaio reads in
 * user mode, the /[aio] mapping, aio-nr/aio-max-nr), io_submit's reads,
 * writes, fsyncs and polls with their events (data, obj, res, res2) and
 * errors (EBADF/EFAULT/EINVAL/EOPNOTSUPP per iocb, partial submissions),
 * IOCB_FLAG_RESFD's eventfd counts, reaping from the ring in user mode,
 * io_cancel of a waiting POLL, io_getevents/io_pgetevents (min_nr/nr,
 * timeouts, EINTR, the sigmask), a full ring, munmap of the ring, fork
 * and exit with pending requests, mremap of the ring (the context moves
 * with it; a fork's child cannot move its copy), io_pgetevents keeping
 * its mask for a signal that interrupts it. */
#include "kt.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/uio.h>

/* include/uapi/linux/aio_abi.h (musl ships no kernel headers) */
typedef unsigned long aio_context_t;
enum {
    IOCB_CMD_PREAD = 0,
    IOCB_CMD_PWRITE = 1,
    IOCB_CMD_FSYNC = 2,
    IOCB_CMD_FDSYNC = 3,
    IOCB_CMD_POLL = 5,
    IOCB_CMD_NOOP = 6,
    IOCB_CMD_PREADV = 7,
    IOCB_CMD_PWRITEV = 8,
};
#define IOCB_FLAG_RESFD 1
struct io_event {
    uint64_t data, obj;
    int64_t res, res2;
};
struct iocb {
    uint64_t aio_data;
    uint32_t aio_key, aio_rw_flags;
    uint16_t aio_lio_opcode;
    int16_t aio_reqprio;
    uint32_t aio_fildes;
    uint64_t aio_buf, aio_nbytes;
    int64_t aio_offset;
    uint64_t aio_reserved2;
    uint32_t aio_flags, aio_resfd;
};
#ifndef RWF_APPEND
#define RWF_APPEND 0x10
#endif
#ifndef SYS_io_pgetevents
#define SYS_io_pgetevents 333
#endif

struct ring {
    unsigned id, nr, head, tail, magic, compat_features, incompat_features, header_length;
    struct io_event events[];
};

static long setup(unsigned nr, aio_context_t *ctx) {
    return syscall(SYS_io_setup, nr, ctx);
}
static long destroy(aio_context_t ctx) {
    return syscall(SYS_io_destroy, ctx);
}
static long submit(aio_context_t ctx, long nr, struct iocb **v) {
    return syscall(SYS_io_submit, ctx, nr, v);
}
static long getev(aio_context_t ctx, long min, long nr, struct io_event *ev, struct timespec *ts) {
    return syscall(SYS_io_getevents, ctx, min, nr, ev, ts);
}
static long cancel(aio_context_t ctx, struct iocb *cb, struct io_event *ev) {
    return syscall(SYS_io_cancel, ctx, cb, ev);
}

static long read_knob(const char *name) {
    char path[64], buf[32] = {0};
    snprintf(path, sizeof path, "/proc/sys/fs/%s", name);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    long n = read(fd, buf, sizeof buf - 1);
    close(fd);
    return n > 0 ? atol(buf) : -1;
}

static int write_knob(const char *name, long v) {
    char path[64], buf[32];
    snprintf(path, sizeof path, "/proc/sys/fs/%s", name);
    int fd = open(path, O_WRONLY);
    if (fd < 0) return -1;
    int n = snprintf(buf, sizeof buf, "%ld\n", v);
    int r = (int)write(fd, buf, n);
    close(fd);
    return r == n ? 0 : -1;
}

/* The /proc/self/maps line of the mapping starting at `addr` (0: none). */
static int maps_line(unsigned long addr, char *out, size_t len) {
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return 0;
    char line[512];
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        if (strtoul(line, 0, 16) == addr) {
            snprintf(out, len, "%s", line);
            found = 1;
            break;
        }
    }
    fclose(f);
    return found;
}

static void prep(struct iocb *cb, int op, int fd, void *buf, unsigned long n, long off, unsigned long data) {
    memset(cb, 0, sizeof *cb);
    cb->aio_lio_opcode = op;
    cb->aio_fildes = fd;
    cb->aio_buf = (unsigned long)buf;
    cb->aio_nbytes = n;
    cb->aio_offset = off;
    cb->aio_data = data;
}

static int tmpfile_rw(void) {
    char path[] = "/tmp/aio_XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0) unlink(path);
    return fd;
}

KT_CASE(setup_errors) {
    aio_context_t ctx = 0;
    KT_SYS_ERR(setup(0, &ctx), EINVAL);
    ctx = 1;
    KT_SYS_ERR(setup(1, &ctx), EINVAL);
    KT_SYS_ERR(setup(1, (aio_context_t *)8), EFAULT);
    ctx = 0;
    /* doubled, more than 256 MiB of events */
    KT_SYS_ERR(setup(4194305, &ctx), EINVAL);
    /* doubled, wraps to 0 */
    KT_SYS_ERR(setup(0x80000000u, &ctx), EAGAIN);
    KT_SYS_ERR(setup((unsigned)read_knob("aio-max-nr") + 1, &ctx), EAGAIN);
    KT_EQ(ctx, 0);
    KT_SYS_ERR(destroy(0), EINVAL);
    KT_SYS_ERR(destroy(0x1000), EINVAL);
    struct io_event ev;
    KT_SYS_ERR(getev(0, 0, 1, &ev, 0), EINVAL);
    KT_SYS_ERR(submit(0, 1, 0), EINVAL);
    KT_SYS_ERR(cancel(0, 0, 0), EFAULT);
}

KT_CASE(ring_header_and_mapping) {
    long before = read_knob("aio-nr");
    KT_EQ(read_knob("aio-max-nr"), 65536);
    aio_context_t a = 0, b = 0;
    KT_SYS_RET(setup(1, &a), 0);
    KT_NE(a, 0);
    KT_EQ(read_knob("aio-nr"), before + 1);
    struct ring *r = (struct ring *)a;
    KT_EQ(r->id, 0);
    KT_EQ(r->nr, 127);
    KT_EQ(r->head, 0);
    KT_EQ(r->tail, 0);
    KT_EQ(r->magic, 0xa10a10a1);
    KT_EQ(r->compat_features, 1);
    KT_EQ(r->incompat_features, 0);
    KT_EQ(r->header_length, 32);
    char line[512];
    KT_TRUE(maps_line(a, line, sizeof line), "no mapping at %lx", (unsigned long)a);
    unsigned long lo, hi;
    char perms[8];
    KT_EQ(sscanf(line, "%lx-%lx %7s", &lo, &hi, perms), 3);
    KT_EQ(hi - lo, 4096);
    KT_TRUE(!strcmp(perms, "rw-s"), "perms %s", perms);
    KT_TRUE(strstr(line, "/[aio] (deleted)") != 0, "line %s", line);
    KT_SYS_RET(setup(128, &b), 0);
    struct ring *rb = (struct ring *)b;
    KT_EQ(rb->id, 1);
    KT_EQ(rb->nr, 383);
    KT_TRUE(maps_line(b, line, sizeof line), "no mapping at %lx", (unsigned long)b);
    KT_EQ(sscanf(line, "%lx-%lx", &lo, &hi), 2);
    KT_EQ(hi - lo, 3 * 4096);
    KT_EQ(read_knob("aio-nr"), before + 129);
    /* a destroyed context's mapping goes, its id is free again */
    KT_SYS_RET(destroy(a), 0);
    KT_TRUE(!maps_line(a, line, sizeof line) || !strstr(line, "[aio]"), "still mapped: %s", line);
    KT_SYS_ERR(destroy(a), EINVAL);
    KT_EQ(read_knob("aio-nr"), before + 128);
    aio_context_t c = 0;
    KT_SYS_RET(setup(2, &c), 0);
    KT_EQ(((struct ring *)c)->id, 0);
    KT_SYS_RET(destroy(c), 0);
    KT_SYS_RET(destroy(b), 0);
    KT_EQ(read_knob("aio-nr"), before);
}

KT_CASE(aio_max_nr_limit) {
    if (getuid() != 0) KT_SKIP("not root");
    long before = read_knob("aio-nr");
    KT_SYS_RET(write_knob("aio-max-nr", before + 10), 0);
    aio_context_t a = 0, b = 0;
    long r1 = setup(11, &a);
    int e1 = errno;
    long r2 = setup(10, &b);
    long r3 = setup(1, &a);
    int e3 = errno;
    write_knob("aio-max-nr", 65536);
    KT_EQ(r1, -1);
    KT_EQ(e1, EAGAIN);
    KT_EQ(r2, 0);
    KT_EQ(r3, -1);
    KT_EQ(e3, EAGAIN);
    KT_SYS_RET(destroy(b), 0);
    KT_EQ(read_knob("aio-max-nr"), 65536);
}

KT_CASE(read_write_events) {
    int fd = KT_SYS_OK(tmpfile_rw());
    aio_context_t ctx = 0;
    KT_SYS_RET(setup(8, &ctx), 0);
    struct ring *r = (struct ring *)ctx;
    struct iocb w, rd, *v[2];
    char msg[] = "hello world";
    prep(&w, IOCB_CMD_PWRITE, fd, msg, 11, 0, 0x1234);
    w.aio_key = 77;
    v[0] = &w;
    KT_SYS_RET(submit(ctx, 1, v), 1);
    KT_EQ(w.aio_key, 0);
    /* buffered I/O completes during io_submit: the event is in the ring */
    KT_EQ(r->tail, 1);
    struct io_event ev[4];
    memset(ev, 0xa5, sizeof ev);
    KT_SYS_RET(getev(ctx, 1, 4, ev, 0), 1);
    KT_EQ(ev[0].data, 0x1234);
    KT_EQ(ev[0].obj, (unsigned long)&w);
    KT_EQ(ev[0].res, 11);
    KT_EQ(ev[0].res2, 0);
    KT_EQ(r->head, 1);
    char buf[16] = {0};
    prep(&rd, IOCB_CMD_PREAD, fd, buf, 8, 6, 7);
    v[0] = &rd;
    KT_SYS_RET(submit(ctx, 1, v), 1);
    KT_TRUE(!memcmp(buf, "world", 6), "read %s", buf);
    /* reaped in user mode, as libaio and fio do */
    KT_EQ(r->tail, 2);
    struct io_event *e = &r->events[r->head];
    KT_EQ(e->data, 7);
    KT_EQ(e->obj, (unsigned long)&rd);
    KT_EQ(e->res, 5);
    r->head = r->tail;
    struct timespec zero = {0, 0};
    KT_SYS_RET(getev(ctx, 0, 4, ev, &zero), 0);
    /* vectored, and a read past the end */
    char p1[3] = "ab", p2[4] = "cde";
    struct iovec iw[2] = {{p1, 2}, {p2, 3}};
    prep(&w, IOCB_CMD_PWRITEV, fd, iw, 2, 20, 1);
    char q1[2], q2[8] = {0};
    struct iovec ir[2] = {{q1, 2}, {q2, 8}};
    prep(&rd, IOCB_CMD_PREADV, fd, ir, 2, 19, 2);
    struct iocb past;
    prep(&past, IOCB_CMD_PREAD, fd, buf, 4, 1000, 3);
    struct iocb *v3[3] = {&w, &rd, &past};
    KT_SYS_RET(submit(ctx, 3, v3), 3);
    KT_SYS_RET(getev(ctx, 3, 4, ev, 0), 3);
    KT_EQ(ev[0].data, 1);
    KT_EQ(ev[0].res, 5);
    KT_EQ(ev[1].data, 2);
    KT_EQ(ev[1].res, 6);
    KT_EQ(q1[0], 0);
    KT_EQ(q1[1], 'a');
    KT_TRUE(!memcmp(q2, "bcde", 5), "q2 %s", q2);
    KT_EQ(ev[2].data, 3);
    KT_EQ(ev[2].res, 0);
    /* fsync and fdatasync of a file */
    struct iocb fs, fds;
    prep(&fs, IOCB_CMD_FSYNC, fd, 0, 0, 0, 8);
    prep(&fds, IOCB_CMD_FDSYNC, fd, 0, 0, 0, 9);
    v[0] = &fs;
    v[1] = &fds;
    KT_SYS_RET(submit(ctx, 2, v), 2);
    KT_SYS_RET(getev(ctx, 2, 2, ev, 0), 2);
    KT_EQ(ev[0].data + ev[1].data, 17);
    KT_EQ(ev[0].res, 0);
    KT_EQ(ev[1].res, 0);
    /* a buffer that is not mapped: the read's own error, in the event */
    prep(&rd, IOCB_CMD_PREAD, fd, (void *)0x1000, 4, 0, 10);
    v[0] = &rd;
    KT_SYS_RET(submit(ctx, 1, v), 1);
    KT_SYS_RET(getev(ctx, 1, 1, ev, 0), 1);
    KT_EQ(ev[0].res, -EFAULT);
    /* RWF_APPEND: at the end whatever the offset */
    prep(&w, IOCB_CMD_PWRITE, fd, "Z", 1, 0, 11);
    w.aio_rw_flags = RWF_APPEND;
    v[0] = &w;
    KT_SYS_RET(submit(ctx, 1, v), 1);
    KT_SYS_RET(getev(ctx, 1, 1, ev, 0), 1);
    KT_EQ(ev[0].res, 1);
    struct stat st;
    KT_SYS_OK(fstat(fd, &st));
    KT_EQ(st.st_size, 26);
    KT_SYS_RET(destroy(ctx), 0);
    close(fd);
}

KT_CASE(submit_errors) {
    int fd = KT_SYS_OK(tmpfile_rw());
    int ro = KT_SYS_OK(open("/proc/self/stat", O_RDONLY));
    int p[2];
    KT_SYS_OK(pipe(p));
    aio_context_t ctx = 0;
    KT_SYS_RET(setup(8, &ctx), 0);
    char buf[8];
    struct iocb a, b, *v[2] = {&a, &b};
    KT_SYS_ERR(submit(ctx, -1, v), EINVAL);
    KT_SYS_RET(submit(ctx, 0, v), 0);
    /* the first bad iocb's error when none was submitted */
    prep(&a, IOCB_CMD_PREAD, 999, buf, 8, 0, 1);
    KT_SYS_ERR(submit(ctx, 1, v), EBADF);
    /* else the count before it */
    prep(&a, IOCB_CMD_PREAD, fd, buf, 8, 0, 1);
    prep(&b, IOCB_CMD_PREAD, 999, buf, 8, 0, 2);
    KT_SYS_RET(submit(ctx, 2, v), 1);
    prep(&a, 4, fd, buf, 8, 0, 1);
    KT_SYS_ERR(submit(ctx, 1, v), EINVAL);
    prep(&a, IOCB_CMD_NOOP, fd, buf, 8, 0, 1);
    KT_SYS_ERR(submit(ctx, 1, v), EINVAL);
    prep(&a, IOCB_CMD_PREAD, fd, buf, 8, 0, 1);
    a.aio_reserved2 = 1;
    KT_SYS_ERR(submit(ctx, 1, v), EINVAL);
    prep(&a, IOCB_CMD_PREAD, fd, buf, -1UL, 0, 1);
    KT_SYS_ERR(submit(ctx, 1, v), EINVAL);
    prep(&a, IOCB_CMD_PREAD, fd, buf, 8, -1, 1);
    KT_SYS_ERR(submit(ctx, 1, v), EINVAL);
    prep(&a, IOCB_CMD_PWRITE, ro, buf, 8, 0, 1);
    KT_SYS_ERR(submit(ctx, 1, v), EBADF);
    prep(&a, IOCB_CMD_PREAD, p[1], buf, 8, 0, 1);
    KT_SYS_ERR(submit(ctx, 1, v), EBADF);
    /* a directory has no read_iter */
    int dir = KT_SYS_OK(open("/tmp", O_RDONLY | O_DIRECTORY));
    prep(&a, IOCB_CMD_PREAD, dir, buf, 8, 0, 1);
    KT_SYS_ERR(submit(ctx, 1, v), EINVAL);
    close(dir);
    prep(&a, IOCB_CMD_PREAD, fd, buf, 8, 0, 1);
    a.aio_rw_flags = 0x100;
    KT_SYS_ERR(submit(ctx, 1, v), EOPNOTSUPP);
    /* a buffer outside user space */
    prep(&a, IOCB_CMD_PREAD, fd, (void *)0xffff800000000000UL, 8, 0, 1);
    KT_SYS_ERR(submit(ctx, 1, v), EFAULT);
    /* the eventfd of IOCB_FLAG_RESFD */
    prep(&a, IOCB_CMD_PREAD, fd, buf, 8, 0, 1);
    a.aio_flags = IOCB_FLAG_RESFD;
    a.aio_resfd = fd;
    KT_SYS_ERR(submit(ctx, 1, v), EINVAL);
    a.aio_resfd = 999;
    KT_SYS_ERR(submit(ctx, 1, v), EBADF);
    /* fsync: no fields, a file with an fsync method */
    prep(&a, IOCB_CMD_FSYNC, fd, buf, 0, 0, 1);
    KT_SYS_ERR(submit(ctx, 1, v), EINVAL);
    prep(&a, IOCB_CMD_FSYNC, p[1], 0, 0, 0, 1);
    KT_SYS_ERR(submit(ctx, 1, v), EINVAL);
    /* poll: 16 bits of events, no offset or length */
    prep(&a, IOCB_CMD_POLL, p[0], (void *)0x10000, 0, 0, 1);
    KT_SYS_ERR(submit(ctx, 1, v), EINVAL);
    prep(&a, IOCB_CMD_POLL, p[0], (void *)POLLIN, 1, 0, 1);
    KT_SYS_ERR(submit(ctx, 1, v), EINVAL);
    /* unreadable arrays */
    KT_SYS_ERR(submit(ctx, 1, (struct iocb **)8), EFAULT);
    struct iocb *bad[1] = {(struct iocb *)8};
    KT_SYS_ERR(submit(ctx, 1, bad), EFAULT);
    struct io_event ev[4];
    KT_SYS_RET(getev(ctx, 0, 4, ev, 0), 1);
    KT_EQ(ev[0].data, 1);
    KT_EQ(ev[0].res, 0);
    KT_SYS_RET(destroy(ctx), 0);
    close(fd);
    close(ro);
    close(p[0]);
    close(p[1]);
}

KT_CASE(resfd_counts) {
    int fd = KT_SYS_OK(tmpfile_rw());
    int efd = KT_SYS_OK(eventfd(0, EFD_NONBLOCK));
    aio_context_t ctx = 0;
    KT_SYS_RET(setup(8, &ctx), 0);
    struct iocb cb[3], *v[3];
    for (int i = 0; i < 3; i++) {
        prep(&cb[i], IOCB_CMD_PWRITE, fd, "abc", 3, 3 * i, i);
        cb[i].aio_flags = IOCB_FLAG_RESFD;
        cb[i].aio_resfd = efd;
        v[i] = &cb[i];
    }
    KT_SYS_RET(submit(ctx, 3, v), 3);
    uint64_t n = 0;
    KT_SYS_RET(read(efd, &n, 8), 8);
    KT_EQ(n, 3);
    struct io_event ev[3];
    KT_SYS_RET(getev(ctx, 3, 3, ev, 0), 3);
    KT_EQ(ev[2].res, 3);
    KT_SYS_RET(destroy(ctx), 0);
    close(efd);
    close(fd);
}

KT_CASE(poll_pipe_and_cancel) {
    int p[2];
    KT_SYS_OK(pipe(p));
    int efd = KT_SYS_OK(eventfd(0, EFD_NONBLOCK));
    aio_context_t ctx = 0;
    KT_SYS_RET(setup(8, &ctx), 0);
    struct ring *r = (struct ring *)ctx;
    struct iocb a, b, c, *v[1];
    prep(&a, IOCB_CMD_POLL, p[0], (void *)POLLIN, 0, 0, 21);
    a.aio_flags = IOCB_FLAG_RESFD;
    a.aio_resfd = efd;
    v[0] = &a;
    KT_SYS_RET(submit(ctx, 1, v), 1);
    struct io_event ev[2];
    struct timespec zero = {0, 0}, sec = {2, 0};
    KT_SYS_RET(getev(ctx, 1, 2, ev, &zero), 0);
    KT_EQ(r->tail, 0);
    uint64_t n = 0;
    KT_SYS_ERR(read(efd, &n, 8), EAGAIN);
    KT_SYS_RET(write(p[1], "x", 1), 1);
    KT_SYS_RET(getev(ctx, 1, 2, ev, &sec), 1);
    KT_EQ(ev[0].data, 21);
    KT_EQ(ev[0].obj, (unsigned long)&a);
    /* completed by the pipe's wake-up: its key's POLLIN | POLLRDNORM */
    KT_EQ(ev[0].res, POLLIN | POLLRDNORM);
    KT_EQ(ev[0].res2, 0);
    KT_SYS_RET(read(efd, &n, 8), 8);
    KT_EQ(n, 1);
    /* ready at submission: completes at once, with what is ready of the
     * events asked for (and POLLERR/POLLHUP) */
    prep(&b, IOCB_CMD_POLL, p[0], (void *)(POLLIN | POLLOUT), 0, 0, 22);
    v[0] = &b;
    KT_SYS_RET(submit(ctx, 1, v), 1);
    KT_EQ(r->tail, 2);
    prep(&c, IOCB_CMD_POLL, p[1], (void *)POLLOUT, 0, 0, 23);
    v[0] = &c;
    KT_SYS_RET(submit(ctx, 1, v), 1);
    KT_SYS_RET(getev(ctx, 2, 2, ev, 0), 2);
    KT_EQ(ev[0].res, POLLIN);
    KT_EQ(ev[1].res, POLLOUT);
    char x;
    KT_SYS_RET(read(p[0], &x, 1), 1);
    /* a waiting POLL cancelled: EINPROGRESS, its event (res 0) in the ring */
    prep(&a, IOCB_CMD_POLL, p[0], (void *)POLLIN, 0, 0, 24);
    v[0] = &a;
    KT_SYS_RET(submit(ctx, 1, v), 1);
    KT_SYS_ERR(cancel(ctx, &a, ev), EINPROGRESS);
    KT_SYS_RET(getev(ctx, 1, 2, ev, &sec), 1);
    KT_EQ(ev[0].data, 24);
    KT_EQ(ev[0].obj, (unsigned long)&a);
    KT_EQ(ev[0].res, 0);
    KT_SYS_ERR(cancel(ctx, &a, ev), EINVAL);
    /* a completed request cannot be cancelled; a foreign key is EINVAL */
    KT_SYS_ERR(cancel(ctx, &c, ev), EINVAL);
    c.aio_key = 5;
    KT_SYS_ERR(cancel(ctx, &c, ev), EINVAL);
    /* the hang-up of the write end completes a waiting POLL with POLLHUP */
    prep(&a, IOCB_CMD_POLL, p[0], (void *)POLLIN, 0, 0, 25);
    v[0] = &a;
    KT_SYS_RET(submit(ctx, 1, v), 1);
    close(p[1]);
    KT_SYS_RET(getev(ctx, 1, 2, ev, &sec), 1);
    KT_EQ(ev[0].data, 25);
    KT_EQ(ev[0].res, POLLHUP);
    KT_SYS_RET(destroy(ctx), 0);
    close(p[0]);
    close(efd);
}

static volatile int alarms;
/* A file without a wait queue (a regular file) is ready at once for
 * what DEFAULT_POLLMASK has; for nothing of it (POLLPRI) the poll could
 * never complete and io_submit says EINVAL (Linux's aio_poll). */
KT_CASE(poll_regular_file) {
    int fd = KT_SYS_OK(tmpfile_rw());
    aio_context_t ctx = 0;
    KT_SYS_RET(setup(8, &ctx), 0);
    struct iocb a, *v[1] = {&a};
    prep(&a, IOCB_CMD_POLL, fd, (void *)POLLPRI, 0, 0, 31);
    KT_SYS_ERR(submit(ctx, 1, v), EINVAL);
    prep(&a, IOCB_CMD_POLL, fd, (void *)(POLLIN | POLLPRI), 0, 0, 32);
    KT_SYS_RET(submit(ctx, 1, v), 1);
    struct io_event ev[1];
    struct timespec zero = {0, 0};
    KT_SYS_RET(getev(ctx, 1, 1, ev, &zero), 1);
    KT_EQ(ev[0].data, 32);
    KT_EQ(ev[0].res, POLLIN);
    KT_SYS_RET(destroy(ctx), 0);
    close(fd);
}

static void on_alarm(int s) {
    (void)s;
    alarms++;
}

KT_CASE(getevents_rules) {
    aio_context_t ctx = 0;
    KT_SYS_RET(setup(4, &ctx), 0);
    struct io_event ev[2];
    KT_SYS_ERR(getev(ctx, 2, 1, ev, 0), EINVAL);
    KT_SYS_ERR(getev(ctx, -1, 1, ev, 0), EINVAL);
    KT_SYS_ERR(getev(ctx, -2, -1, ev, 0), EINVAL);
    KT_SYS_RET(getev(ctx, 0, 0, ev, 0), 0);
    KT_SYS_ERR(getev(ctx, 1, 1, ev, (struct timespec *)8), EFAULT);
    /* a timeout with fewer than min_nr events: what there is */
    struct timespec ms20 = {0, 20000000};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    KT_SYS_RET(getev(ctx, 1, 2, ev, &ms20), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long el = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    KT_TRUE(el >= 19, "waited %ld ms", el);
    /* a signal: EINTR (never restarted, as Linux) */
    struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
    struct sigaction old;
    sigaction(SIGALRM, &sa, &old);
    alarms = 0;
    struct itimerval it = {.it_value = {0, 20000}};
    setitimer(ITIMER_REAL, &it, 0);
    KT_SYS_ERR(getev(ctx, 1, 2, ev, 0), EINTR);
    KT_EQ(alarms, 1);
    /* io_pgetevents: SIGALRM blocked while it waits, delivered after */
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGALRM);
    struct {
        const sigset_t *mask;
        size_t size;
    } as = {&block, 8}, bad = {&block, 4};
    struct timespec ms60 = {0, 60000000};
    KT_SYS_ERR(syscall(SYS_io_pgetevents, ctx, 1, 2, ev, &ms60, &bad), EINVAL);
    alarms = 0;
    setitimer(ITIMER_REAL, &it, 0);
    KT_SYS_RET(syscall(SYS_io_pgetevents, ctx, 1, 2, ev, &ms60, &as), 0);
    KT_EQ(alarms, 1);
    /* without a mask that blocks it: EINTR */
    sigset_t none;
    sigemptyset(&none);
    as.mask = &none;
    alarms = 0;
    setitimer(ITIMER_REAL, &it, 0);
    KT_SYS_ERR(syscall(SYS_io_pgetevents, ctx, 1, 2, ev, 0, &as), EINTR);
    KT_EQ(alarms, 1);
    sigaction(SIGALRM, &old, 0);
    KT_SYS_RET(destroy(ctx), 0);
    KT_SYS_ERR(getev(ctx, 0, 1, ev, 0), EINVAL);
}

KT_CASE(full_ring_eagain) {
    int p[2];
    KT_SYS_OK(pipe(p));
    aio_context_t ctx = 0;
    KT_SYS_RET(setup(1, &ctx), 0);
    struct iocb *cbs = calloc(200, sizeof *cbs);
    KT_TRUE(cbs != 0, "calloc");
    int n = 0;
    long r = 0;
    for (; n < 200; n++) {
        prep(&cbs[n], IOCB_CMD_POLL, p[0], (void *)POLLIN, 0, 0, n);
        struct iocb *v[1] = {&cbs[n]};
        r = submit(ctx, 1, v);
        if (r != 1) break;
    }
    int e = errno;
    KT_EQ(r, -1);
    KT_EQ(e, EAGAIN);
    /* Linux takes slots in per-CPU batches: 120 of the 126 on one CPU
     * with 2 CPUs; here 126 */
    KT_TRUE(n >= 100 && n <= 126, "%d submitted", n);
    /* ready now: all complete, and the slots come back once reaped */
    KT_SYS_RET(write(p[1], "x", 1), 1);
    struct io_event *ev = calloc(200, sizeof *ev);
    struct timespec sec = {2, 0};
    long got = 0;
    while (got < n) {
        long k = getev(ctx, 1, 200, ev, &sec);
        if (k <= 0) break;
        for (long i = 0; i < k; i++) KT_EQ(ev[i].res, POLLIN | POLLRDNORM);
        got += k;
    }
    KT_EQ(got, n);
    struct iocb *v[1] = {&cbs[0]};
    KT_SYS_RET(submit(ctx, 1, v), 1);
    KT_SYS_RET(destroy(ctx), 0);
    free(cbs);
    free(ev);
    close(p[0]);
    close(p[1]);
}

KT_CASE(munmap_ring_and_destroy_pending) {
    long before = read_knob("aio-nr");
    int p[2];
    KT_SYS_OK(pipe(p));
    /* pending polls go with io_destroy */
    aio_context_t ctx = 0;
    KT_SYS_RET(setup(4, &ctx), 0);
    struct iocb a, *v[1] = {&a};
    prep(&a, IOCB_CMD_POLL, p[0], (void *)POLLIN, 0, 0, 1);
    KT_SYS_RET(submit(ctx, 1, v), 1);
    KT_SYS_RET(destroy(ctx), 0);
    KT_EQ(read_knob("aio-nr"), before);
    /* an unmapped ring: the context cannot be found, and is still counted
     * until the process ends */
    pid_t c = KT_FORK();
    if (c == 0) {
        aio_context_t x = 0;
        if (setup(50, &x)) _exit(1);
        if (read_knob("aio-nr") != before + 50) _exit(2);
        if (munmap((void *)x, 4096)) _exit(3);
        struct io_event ev;
        if (getev(x, 0, 1, &ev, 0) != -1 || errno != EINVAL) _exit(4);
        if (destroy(x) != -1 || errno != EINVAL) _exit(5);
        if (read_knob("aio-nr") != before + 50) _exit(6);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_EQ(read_knob("aio-nr"), before);
    close(p[0]);
    close(p[1]);
}

KT_CASE(fork_and_exit_with_pending) {
    long before = read_knob("aio-nr");
    int p[2];
    KT_SYS_OK(pipe(p));
    aio_context_t ctx = 0;
    KT_SYS_RET(setup(4, &ctx), 0);
    /* the child has no context (its copy of the ring is there) */
    pid_t c = KT_FORK();
    if (c == 0) {
        struct io_event ev;
        if (getev(ctx, 0, 1, &ev, 0) != -1 || errno != EINVAL) _exit(1);
        if (destroy(ctx) != -1 || errno != EINVAL) _exit(2);
        if (((struct ring *)ctx)->magic != 0xa10a10a1) _exit(3);
        aio_context_t mine = 0;
        if (setup(4, &mine)) _exit(4);
        if (((struct ring *)mine)->id != 0) _exit(5);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    KT_EQ(read_knob("aio-nr"), before + 4);
    KT_SYS_RET(destroy(ctx), 0);
    /* a child exits with a POLL waiting: cancelled, its eventfd signalled */
    int efd = KT_SYS_OK(eventfd(0, 0));
    c = KT_FORK();
    if (c == 0) {
        aio_context_t x = 0;
        if (setup(4, &x)) _exit(1);
        struct iocb a, *v[1] = {&a};
        prep(&a, IOCB_CMD_POLL, p[0], (void *)POLLIN, 0, 0, 1);
        a.aio_flags = IOCB_FLAG_RESFD;
        a.aio_resfd = efd;
        if (submit(x, 1, v) != 1) _exit(2);
        _exit(0);
    }
    KT_WAIT_STATUS(c, kt_exited(0));
    struct pollfd pf = {.fd = efd, .events = POLLIN};
    KT_SYS_RET(poll(&pf, 1, 2000), 1);
    uint64_t n = 0;
    KT_SYS_RET(read(efd, &n, 8), 8);
    KT_EQ(n, 1);
    KT_EQ(read_knob("aio-nr"), before);
    close(efd);
    close(p[0]);
    close(p[1]);
}

static int ring_len(aio_context_t ctx) {
    char line[512];
    if (!maps_line(ctx, line, sizeof line)) return -1;
    unsigned long a, b;
    if (sscanf(line, "%lx-%lx", &a, &b) != 2) return -1;
    return (int)(b - a);
}

static aio_context_t forked_ring;
static unsigned long forked_len;
static int mremap_child(void) {
    /* the copy of the parent's ring: no context of ours (Linux's
     * aio_ring_mremap fails and so does mremap) */
    void *to = mmap(0, forked_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KT_CHILD_CHECK(1, to != MAP_FAILED);
    void *r = mremap((void *)forked_ring, forked_len, forked_len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
    KT_CHILD_CHECK(2, r == MAP_FAILED && errno == EINVAL);
    return 0;
}

KT_CASE(mremap_moves_the_context) {
    aio_context_t ctx = 0;
    KT_SYS_RET(setup(4, &ctx), 0);
    int len = ring_len(ctx);
    KT_TRUE(len >= 4096, "ring of %d bytes", len);
    forked_ring = ctx;
    forked_len = len;
    KT_EQ(kt_in_child(mremap_child), 0);
    void *to = mmap(0, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KT_TRUE(to != MAP_FAILED, "mmap");
    void *r = mremap((void *)ctx, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
    KT_EQ((unsigned long)r, (unsigned long)to);
    aio_context_t moved = (aio_context_t)r;
    char line[512];
    KT_TRUE(maps_line(moved, line, sizeof line) && strstr(line, "/[aio]"), "maps: %s", line);
    struct io_event ev[2];
    /* the old id is gone (nothing mapped there) */
    KT_SYS_ERR(getev(ctx, 0, 1, ev, 0), EINVAL);
    /* the new address is the context: submit, reap by call */
    int fd = tmpfile_rw();
    KT_TRUE(fd >= 0, "tmpfile");
    char buf[8] = "abcdefg";
    struct iocb a, *v[1] = {&a};
    prep(&a, IOCB_CMD_PWRITE, fd, buf, 7, 0, 0x51);
    KT_SYS_RET(submit(moved, 1, v), 1);
    KT_SYS_RET(getev(moved, 1, 2, ev, 0), 1);
    KT_EQ(ev[0].data, 0x51);
    KT_EQ(ev[0].res, 7);
    /* and reap from the ring in user mode at its new address */
    prep(&a, IOCB_CMD_PWRITE, fd, buf, 3, 7, 0x52);
    KT_SYS_RET(submit(moved, 1, v), 1);
    struct ring *ring = (struct ring *)moved;
    KT_EQ(ring->magic, 0xa10a10a1);
    KT_EQ(ring->tail, (ring->head + 1) % ring->nr);
    KT_EQ(ring->events[ring->head].data, 0x52);
    KT_EQ(ring->events[ring->head].res, 3);
    ring->head = ring->tail;
    KT_SYS_RET(getev(moved, 0, 2, ev, 0), 0);
    /* io_destroy by the new id unmaps it */
    KT_SYS_ERR(destroy(ctx), EINVAL);
    KT_SYS_RET(destroy(moved), 0);
    KT_EQ(maps_line(moved, line, sizeof line), 0);
    close(fd);
}

static volatile int usr1s;
static void on_usr1(int s) {
    (void)s;
    usr1s++;
}

KT_CASE(pgetevents_mask_kept_for_the_interrupting_signal) {
    aio_context_t ctx = 0;
    KT_SYS_RET(setup(4, &ctx), 0);
    struct sigaction sa = {.sa_handler = on_usr1};
    struct sigaction old;
    sigaction(SIGUSR1, &sa, &old);
    sigset_t usr1, prev;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    KT_SYS_RET(sigprocmask(SIG_BLOCK, &usr1, &prev), 0);
    /* an event ready and SIGUSR1 pending, blocked by the thread's mask
     * but not by io_pgetevents' own: the call returns the event and the
     * signal is delivered under its mask before the old one comes back */
    int fd = tmpfile_rw();
    KT_TRUE(fd >= 0, "tmpfile");
    char buf[4] = "xyz";
    struct iocb a, *v[1] = {&a};
    prep(&a, IOCB_CMD_PWRITE, fd, buf, 3, 0, 0x61);
    KT_SYS_RET(submit(ctx, 1, v), 1);
    usr1s = 0;
    kill(getpid(), SIGUSR1);
    KT_EQ(usr1s, 0);
    sigset_t none;
    sigemptyset(&none);
    struct {
        const sigset_t *mask;
        size_t size;
    } as = {&none, 8};
    struct io_event ev[2];
    KT_SYS_RET(syscall(SYS_io_pgetevents, ctx, 1, 2, ev, 0, &as), 1);
    KT_EQ(ev[0].data, 0x61);
    KT_EQ(usr1s, 1);
    sigset_t now, pend;
    KT_SYS_RET(sigprocmask(SIG_BLOCK, 0, &now), 0);
    KT_EQ(sigismember(&now, SIGUSR1), 1);
    KT_SYS_RET(sigpending(&pend), 0);
    KT_EQ(sigismember(&pend, SIGUSR1), 0);
    /* nothing ready, min_nr 0: the signal still interrupts (EINTR) */
    usr1s = 0;
    kill(getpid(), SIGUSR1);
    KT_SYS_ERR(syscall(SYS_io_pgetevents, ctx, 0, 2, ev, 0, &as), EINTR);
    KT_EQ(usr1s, 1);
    KT_SYS_RET(sigprocmask(SIG_BLOCK, 0, &now), 0);
    KT_EQ(sigismember(&now, SIGUSR1), 1);
    KT_SYS_RET(sigprocmask(SIG_SETMASK, &prev, 0), 0);
    sigaction(SIGUSR1, &old, 0);
    KT_SYS_RET(destroy(ctx), 0);
    close(fd);
}

KT_MAIN()
