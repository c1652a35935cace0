/* stat_depth/<N>: stat of a path N = 1 / 8 / 32 components deep in tmpfs
 * (/tmp/d/d/.../f, each component two characters). */
#include "scale.h"

#include <fcntl.h>
#include <sys/stat.h>

static const char *NAME = "stat_depth";
static char path[512];

static uint64_t body(uint64_t iters, void *arg) {
    (void)arg;
    struct stat sb;
    uint64_t t0 = bench_now();
    for (uint64_t i = 0; i < iters; i++)
        if (stat(path, &sb) != 0) bench_fail(NAME, "stat");
    return bench_now() - t0;
}

int main(void) {
    static const long depths[] = {1, 8, 32};
    for (int s = 0; s < 3; s++) {
        /* /tmp counts as the first component: N - 2 directories below it, then the file */
        size_t len = (size_t)snprintf(path, sizeof path, "/tmp");
        for (long d = 0; d < depths[s] - 2 && depths[s] > 1; d++) {
            len += (size_t)snprintf(path + len, sizeof path - len, "/d%ld", d % 10);
            if (mkdir(path, 0755) != 0 && errno != EEXIST) bench_fail(NAME, "mkdir");
        }
        if (depths[s] > 1) {
            snprintf(path + len, sizeof path - len, "/f%ld", depths[s]);
            int fd = open(path, O_CREAT | O_WRONLY, 0644);
            if (fd < 0) bench_fail(NAME, "creat");
            close(fd);
        }
        scale_run(NAME, depths[s], body, 0, 1 << 24);
    }
    return 0;
}
