/* open_close: open(2) O_RDONLY of an existing regular file, /bin/tiny in
 * the initramfs (a two-component path), then close(2). */
#include "bench.h"

#include <fcntl.h>

static uint64_t body(uint64_t iters, void *arg) {
    (void)arg;
    uint64_t t0 = bench_now();
    for (uint64_t i = 0; i < iters; i++) {
        int fd = open("/bin/tiny", O_RDONLY);
        if (fd < 0) bench_fail("open_close", "open /bin/tiny");
        close(fd);
    }
    return bench_now() - t0;
}

int main(void) {
    bench_run("open_close", body, 0, 1ULL << 24);
    return 0;
}
