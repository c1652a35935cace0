/* splice(2), tee(2) and vmsplice(2): data between a file and a pipe
 * (with and without offsets, the file position moving only without),
 * pipe to pipe, tee's copy that consumes nothing, vmsplice into and out
 * of a pipe, EOF and EAGAIN, and the argument errors Linux 6.1 gives. */
#define _GNU_SOURCE
#include "kt.h"

#include <fcntl.h>
#include <string.h>
#include <signal.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <unistd.h>

static char big[200000];

static int temp_file(const char *data, size_t len) {
    char path[] = "/tmp/kt_spliceXXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return -1;
    unlink(path);
    if (len && write(fd, data, len) != (ssize_t)len) return -1;
    lseek(fd, 0, SEEK_SET);
    return fd;
}

KT_CASE(file_to_pipe_with_and_without_offset) {
    int f = temp_file("0123456789", 10);
    KT_TRUE(f >= 0, "temp file");
    int p[2];
    KT_SYS_OK(pipe(p));
    loff_t off = 4;
    KT_SYS_RET(splice(f, &off, p[1], NULL, 3, 0), 3);
    KT_EQ(off, 7);
    KT_EQ(lseek(f, 0, SEEK_CUR), 0); /* the offset given: f_pos stays */
    KT_SYS_RET(splice(f, NULL, p[1], NULL, 2, 0), 2);
    KT_EQ(lseek(f, 0, SEEK_CUR), 2); /* none given: f_pos moves */
    char b[16] = {0};
    KT_SYS_RET(read(p[0], b, sizeof b), 5);
    KT_EQ(memcmp(b, "45601", 5), 0);
    /* at the end of the file: 0 */
    off = 10;
    KT_SYS_RET(splice(f, &off, p[1], NULL, 5, 0), 0);
    close(f);
    close(p[0]);
    close(p[1]);
}

KT_CASE(pipe_to_file_and_pipe_to_pipe) {
    int p[2], q[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_OK(pipe(q));
    int f = temp_file("", 0);
    KT_TRUE(f >= 0, "temp file");
    KT_SYS_RET(write(p[1], "abcdef", 6), 6);
    KT_SYS_RET(splice(p[0], NULL, f, NULL, 4, 0), 4);
    KT_EQ(lseek(f, 0, SEEK_CUR), 4);
    loff_t off = 100;
    KT_SYS_RET(splice(p[0], NULL, f, &off, 10, 0), 2); /* only what the pipe holds */
    KT_EQ(off, 102);
    char b[8] = {0};
    KT_SYS_RET(pread(f, b, 4, 0), 4);
    KT_EQ(memcmp(b, "abcd", 4), 0);
    KT_SYS_RET(pread(f, b, 2, 100), 2);
    KT_EQ(memcmp(b, "ef", 2), 0);
    KT_SYS_RET(write(p[1], "xyz", 3), 3);
    KT_SYS_RET(splice(p[0], NULL, q[1], NULL, 100, 0), 3);
    KT_SYS_RET(read(q[0], b, sizeof b), 3);
    KT_EQ(memcmp(b, "xyz", 3), 0);
    /* empty with a writer: EAGAIN when nonblocking; without writers: 0 */
    KT_SYS_ERR(splice(p[0], NULL, f, NULL, 10, SPLICE_F_NONBLOCK), EAGAIN);
    close(p[1]);
    KT_SYS_RET(splice(p[0], NULL, f, NULL, 10, 0), 0);
    close(p[0]);
    close(q[0]);
    close(q[1]);
    close(f);
}

KT_CASE(splice_argument_errors) {
    int p[2];
    KT_SYS_OK(pipe(p));
    int f = temp_file("data", 4);
    int g = temp_file("", 0);
    loff_t off = 0;
    KT_SYS_ERR(splice(f, NULL, g, NULL, 4, 0), EINVAL);            /* no pipe */
    KT_SYS_ERR(splice(p[0], &off, g, NULL, 4, 0), ESPIPE);         /* an offset for a pipe */
    KT_SYS_ERR(splice(f, NULL, p[1], &off, 4, 0), ESPIPE);
    KT_SYS_ERR(splice(p[0], NULL, p[1], NULL, 4, 0), EINVAL);      /* one pipe */
    KT_SYS_ERR(splice(f, NULL, p[1], NULL, 4, 0x100), EINVAL);     /* unknown flag */
    KT_SYS_ERR(splice(p[1], NULL, g, NULL, 4, 0), EBADF);          /* the write end as input */
    KT_SYS_ERR(splice(99, NULL, p[1], NULL, 4, 0), EBADF);
    off = -1;
    KT_SYS_ERR(splice(f, &off, p[1], NULL, 4, 0), EINVAL);         /* negative offset */
    int a = open("/tmp/kt_splice_append", O_WRONLY | O_CREAT | O_APPEND, 0600);
    KT_TRUE(a >= 0, "open O_APPEND");
    KT_SYS_RET(write(p[1], "z", 1), 1);
    KT_SYS_ERR(splice(p[0], NULL, a, NULL, 1, 0), EINVAL);         /* O_APPEND output */
    KT_SYS_RET(splice(f, NULL, p[1], NULL, 0, 0), 0);              /* nothing asked */
    close(a);
    unlink("/tmp/kt_splice_append");
    close(f);
    close(g);
    close(p[0]);
    close(p[1]);
}

KT_CASE(into_a_full_pipe_nonblocking_is_eagain_and_moves_nothing) {
    int p[2];
    KT_SYS_OK(pipe2(p, O_NONBLOCK));
    while (write(p[1], big, sizeof big) > 0) {
    }
    int f = temp_file("0123456789", 10);
    KT_SYS_ERR(splice(f, NULL, p[1], NULL, 10, 0), EAGAIN);
    KT_EQ(lseek(f, 0, SEEK_CUR), 0);
    close(f);
    close(p[0]);
    close(p[1]);
}

KT_CASE(a_big_file_through_a_pipe_to_a_reader) {
    for (size_t i = 0; i < sizeof big; i++) big[i] = (char)(i * 7 + 3);
    int f = temp_file(big, sizeof big);
    KT_TRUE(f >= 0, "temp file");
    int p[2];
    KT_SYS_OK(pipe(p));
    pid_t c = fork();
    if (c == 0) {
        close(p[1]);
        static char got[sizeof big];
        size_t n = 0;
        ssize_t r;
        while ((r = read(p[0], got + n, sizeof got - n)) > 0) n += r;
        _exit(n == sizeof big && memcmp(got, big, sizeof big) == 0 ? 0 : 1);
    }
    close(p[0]);
    size_t moved = 0;
    while (moved < sizeof big) {
        ssize_t r = splice(f, NULL, p[1], NULL, sizeof big - moved, SPLICE_F_MORE);
        KT_TRUE(r > 0, "splice after %zu: %zd errno %d", moved, r, errno);
        if (r <= 0) break;
        moved += r;
    }
    KT_EQ(moved, sizeof big);
    KT_EQ(lseek(f, 0, SEEK_CUR), (off_t)sizeof big);
    close(p[1]);
    KT_WAIT_STATUS(c, 0);
    close(f);
}

KT_CASE(tee_copies_without_consuming) {
    int p[2], q[2];
    KT_SYS_OK(pipe(p));
    KT_SYS_OK(pipe(q));
    KT_SYS_RET(write(p[1], "hello", 5), 5);
    KT_SYS_RET(tee(p[0], q[1], 3, 0), 3);
    char b[8] = {0};
    KT_SYS_RET(read(q[0], b, sizeof b), 3);
    KT_EQ(memcmp(b, "hel", 3), 0);
    KT_SYS_RET(read(p[0], b, sizeof b), 5);
    KT_EQ(memcmp(b, "hello", 5), 0);
    KT_SYS_ERR(tee(p[0], q[1], 5, SPLICE_F_NONBLOCK), EAGAIN);
    KT_SYS_ERR(tee(p[0], p[1], 5, 0), EINVAL);
    int f = temp_file("x", 1);
    KT_SYS_ERR(tee(f, q[1], 1, 0), EINVAL);
    close(p[1]);
    KT_SYS_RET(tee(p[0], q[1], 5, 0), 0);
    close(f);
    close(p[0]);
    close(q[0]);
    close(q[1]);
}

KT_CASE(vmsplice_into_and_out_of_a_pipe) {
    int p[2];
    KT_SYS_OK(pipe(p));
    char a[] = "vm", b[] = "splice";
    struct iovec in[2] = {{a, 2}, {b, 6}};
    KT_SYS_RET(vmsplice(p[1], in, 2, 0), 8);
    char o1[3] = {0}, o2[8] = {0};
    struct iovec out[2] = {{o1, 3}, {o2, 5}};
    KT_SYS_RET(vmsplice(p[0], out, 2, 0), 8);
    KT_EQ(memcmp(o1, "vms", 3), 0);
    KT_EQ(memcmp(o2, "plice", 5), 0);
    int f = temp_file("x", 1);
    KT_SYS_ERR(vmsplice(f, in, 1, 0), EBADF);
    KT_SYS_ERR(vmsplice(p[1], in, 1, 0x100), EINVAL);
    close(f);
    close(p[0]);
    close(p[1]);
}

/* sendfile(2) from a file: with an offset the file position stays and
 * the offset moves by what was sent; without one the position moves. */
KT_CASE(sendfile_positions) {
    int f = temp_file("0123456789", 10);
    int p[2];
    KT_SYS_OK(pipe(p));
    off_t off = 3;
    KT_SYS_RET(sendfile(p[1], f, &off, 4), 4);
    KT_EQ(off, 7);
    KT_EQ(lseek(f, 0, SEEK_CUR), 0);
    KT_SYS_RET(sendfile(p[1], f, NULL, 2), 2);
    KT_EQ(lseek(f, 0, SEEK_CUR), 2);
    char b[8] = {0};
    KT_SYS_RET(read(p[0], b, sizeof b), 6);
    KT_EQ(memcmp(b, "345601", 6), 0);
    close(p[0]);
    /* no reader: EPIPE (SIGPIPE ignored here); the position stays */
    signal(SIGPIPE, SIG_IGN);
    KT_SYS_ERR(sendfile(p[1], f, NULL, 2), EPIPE);
    KT_EQ(lseek(f, 0, SEEK_CUR), 2);
    signal(SIGPIPE, SIG_DFL);
    close(p[1]);
    close(f);
}

/* Into a pipe without a reader, at SIG_DFL: splice, tee, vmsplice and
 * sendfile each die of SIGPIPE. */
static int no_reader_child(int which) {
    int p[2], q[2];
    if (pipe(p) || pipe(q)) return 1;
    int f = temp_file("abc", 3);
    if (write(q[1], "x", 1) != 1) return 2;
    close(p[0]);
    char a[] = "v";
    struct iovec iv = {a, 1};
    switch (which) {
    case 0: splice(f, NULL, p[1], NULL, 3, 0); break;
    case 1: tee(q[0], p[1], 1, 0); break;
    case 2: vmsplice(p[1], &iv, 1, 0); break;
    default: sendfile(p[1], f, NULL, 3); break;
    }
    return 3; /* alive: no SIGPIPE */
}

static int sp_splice(void) { return no_reader_child(0); }
static int sp_tee(void) { return no_reader_child(1); }
static int sp_vmsplice(void) { return no_reader_child(2); }
static int sp_sendfile(void) { return no_reader_child(3); }

KT_CASE(sigpipe_without_a_reader) {
    KT_EQ(kt_in_child(sp_splice), 100 + SIGPIPE);
    KT_EQ(kt_in_child(sp_tee), 100 + SIGPIPE);
    KT_EQ(kt_in_child(sp_vmsplice), 100 + SIGPIPE);
    KT_EQ(kt_in_child(sp_sendfile), 100 + SIGPIPE);
}

/* vmsplice honours SPLICE_F_NONBLOCK: a full blocking pipe is EAGAIN,
 * an empty one too on the read side; an O_RDWR end moves into the pipe. */
KT_CASE(vmsplice_nonblocking_and_read_write_end) {
    int p[2];
    KT_SYS_OK(pipe(p));
    int fl = fcntl(p[1], F_GETFL);
    KT_SYS_OK(fcntl(p[1], F_SETFL, fl | O_NONBLOCK));
    while (write(p[1], big, sizeof big) > 0) {
    }
    KT_SYS_OK(fcntl(p[1], F_SETFL, fl));
    char a[] = "v";
    struct iovec iv = {a, 1};
    KT_SYS_ERR(vmsplice(p[1], &iv, 1, SPLICE_F_NONBLOCK), EAGAIN);
    close(p[0]);
    close(p[1]);
    KT_SYS_OK(pipe(p));
    char o[4];
    struct iovec ov = {o, sizeof o};
    KT_SYS_ERR(vmsplice(p[0], &ov, 1, SPLICE_F_NONBLOCK), EAGAIN);
    close(p[0]);
    close(p[1]);
    KT_SYS_OK(mkfifo("/tmp/kt_vms_fifo", 0600));
    int rw = open("/tmp/kt_vms_fifo", O_RDWR);
    KT_TRUE(rw >= 0, "open fifo O_RDWR");
    KT_SYS_RET(vmsplice(rw, &iv, 1, 0), 1);
    KT_SYS_RET(read(rw, o, sizeof o), 1);
    KT_EQ(o[0], 'v');
    close(rw);
    unlink("/tmp/kt_vms_fifo");
}

/* Linux checks len 0 before the fds: splice(-1, ..., 0) is 0; tee
 * checks flags first. */
KT_CASE(zero_length_before_the_fds) {
    KT_SYS_RET(splice(-1, NULL, -1, NULL, 0, 0), 0);
    KT_SYS_ERR(tee(-1, -1, 0, 0x100), EINVAL);
    KT_SYS_RET(tee(-1, -1, 0, 0), 0);
}

KT_MAIN()
