/* open_dir/<N>: open(O_RDONLY) + close of one name in a tmpfs directory of
 * 10 / 1,000 / 100,000 entries (the name looked up is the last created). */
#include "scale.h"

#include <fcntl.h>
#include <sys/stat.h>

static const char *NAME = "open_dir";
static char path[128];

static uint64_t body(uint64_t iters, void *arg) {
    (void)arg;
    uint64_t t0 = bench_now();
    for (uint64_t i = 0; i < iters; i++) {
        int fd = open(path, O_RDONLY);
        if (fd < 0) bench_fail(NAME, "open");
        close(fd);
    }
    return bench_now() - t0;
}

int main(void) {
    static const long counts[] = {10, 1000, 100000};
    long made = 0;
    if (mkdir("/tmp/open_dir", 0755) != 0) bench_fail(NAME, "mkdir");
    for (int s = 0; s < 3; s++) {
        for (; made < counts[s]; made++) {
            snprintf(path, sizeof path, "/tmp/open_dir/f%07ld", made);
            int fd = open(path, O_CREAT | O_WRONLY | O_EXCL, 0644);
            if (fd < 0) bench_fail(NAME, "creat");
            close(fd);
        }
        /* a name in the middle of the creation order */
        snprintf(path, sizeof path, "/tmp/open_dir/f%07ld", counts[s] / 2);
        scale_run(NAME, counts[s], body, 0, 1 << 24);
    }
    return 0;
}
