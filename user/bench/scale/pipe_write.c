/* pipe_write/<KiB>: one write of 4 / 64 / 1,024 KiB into a pipe (F_SETPIPE_SZ
 * 1 MiB) that another process reads until it has it all and answers with a
 * byte: the time per write, so k = 1 is throughput independent of the size. */
#include "scale.h"

#include <fcntl.h>

static const char *NAME = "pipe_write";
static int to[2], back[2];
static size_t wsize;
static char *buf;

static uint64_t body(uint64_t iters, void *arg) {
    (void)arg;
    uint64_t t0 = bench_now();
    for (uint64_t i = 0; i < iters; i++) {
        size_t off = 0;
        while (off < wsize) {
            ssize_t w = write(to[1], buf + off, wsize - off);
            if (w <= 0) bench_fail(NAME, "write");
            off += (size_t)w;
        }
        char c;
        if (read(back[0], &c, 1) != 1) bench_fail(NAME, "read (answer)");
    }
    return bench_now() - t0;
}

int main(void) {
    static const long kib[] = {4, 64, 1024};
    buf = malloc(1 << 20);
    if (!buf) bench_fail(NAME, "malloc");
    memset(buf, 7, 1 << 20);
    for (int s = 0; s < 3; s++) {
        wsize = (size_t)kib[s] << 10;
        if (pipe(to) != 0 || pipe(back) != 0) bench_fail(NAME, "pipe");
        fcntl(to[1], F_SETPIPE_SZ, 1 << 20); /* best effort: the default 64 KiB also works */
        pid_t p = fork();
        if (p < 0) bench_fail(NAME, "fork");
        if (p == 0) {
            close(to[1]);
            for (;;) {
                size_t got = 0;
                while (got < wsize) {
                    ssize_t r = read(to[0], buf, wsize - got);
                    if (r == 0) _exit(0);
                    if (r < 0) bench_fail(NAME, "read");
                    got += (size_t)r;
                }
                char c = 1;
                if (write(back[1], &c, 1) != 1) bench_fail(NAME, "write (answer)");
            }
        }
        close(to[0]);
        close(back[1]);
        scale_run(NAME, kib[s], body, 0, 1 << 24);
        close(to[1]);
        close(back[0]);
        int st;
        if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st) != 0) bench_fail(NAME, "waitpid");
    }
    return 0;
}
