/* Kernel memory exhaustion ends in the OOM killer, not a crash: a filler
 * process (oom_score_adj -1000, as the parent) touches memory until 24 MiB
 * are free, then 4 processes each split a mapping into vm.max_map_count
 * pieces with mprotect (10 MiB of kernel memory or more each). Every one
 * either reaches the limit (ENOMEM), gets ENOMEM before it starts, or dies
 * of SIGKILL; its one-byte report on a pipe never fails (a pipe page short
 * of memory runs the OOM killer, as Linux's page allocator); at least one is
 * killed; the parent survives, a fork works afterwards and MemFree comes
 * back. */
#include "kt.h"

#define KIDS 4
#define PAGES 131072L /* 2 * max_map_count, a little more */

static int set_adj(const char *v) {
    int fd = open("/proc/self/oom_score_adj", O_WRONLY);
    if (fd < 0) return -1;
    int r = write(fd, v, strlen(v)) == (long)strlen(v) ? 0 : -1;
    close(fd);
    return r;
}

KT_CASE(mapping_splits_beyond_memory_end_in_oom_kills) {
    long free0 = kt_meminfo_kb("MemFree:");
    KT_SYS_OK(set_adj("-1000"));
    int ready[2];
    KT_SYS_OK(pipe(ready));
    pid_t filler = KT_FORK();
    if (filler == 0) {
        close(ready[0]);
        while (kt_meminfo_kb("MemFree:") > 24 * 1024) {
            char *m = mmap(0, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (m == MAP_FAILED) _exit(2);
            for (int j = 0; j < (1 << 20); j += 4096) m[j] = 1;
        }
        if (write(ready[1], "r", 1) != 1) _exit(4);
        for (;;) pause();
    }
    close(ready[1]);
    char c;
    KT_SYS_RET(read(ready[0], &c, 1), 1);
    close(ready[0]);
    int done[2];
    KT_SYS_OK(pipe(done));
    pid_t kids[KIDS];
    for (int k = 0; k < KIDS; k++) {
        kids[k] = KT_FORK();
        if (kids[k] == 0) {
            close(done[0]);
            /* ENOMEM anywhere is an answer Linux may give too: exit 12 */
            if (set_adj("1000") != 0) _exit(errno == ENOMEM ? 12 : 3);
            char *m = mmap(0, PAGES * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            if (m == MAP_FAILED) _exit(errno == ENOMEM ? 12 : 2);
            long i = 1;
            for (; i < PAGES; i += 2)
                if (mprotect(m + i * 4096, 4096, PROT_NONE) != 0) break;
            char r = i < PAGES && errno == ENOMEM ? 'a' + k : 'x';
            /* a pipe page short of memory calls the OOM killer (Linux's
             * page allocator; ours too): the report arrives or this child
             * is killed, never ENOMEM */
            if (write(done[1], &r, 1) != 1) _exit(errno == ENOMEM ? 5 : 4);
            for (;;) pause();
        }
    }
    close(done[1]);
    KT_SYS_OK(fcntl(done[0], F_SETFL, O_NONBLOCK));
    /* every child reports once (its letter) or dies (killed by the OOM
     * killer, perhaps after reporting) */
    int reported = 0, bad = 0, killed = 0, other = 0, refused = 0, settled = 0;
    int gone[KIDS] = {0}, told[KIDS] = {0};
    for (int round = 0; settled < KIDS && round < 2500; round++) {
        char r;
        while (read(done[0], &r, 1) == 1) {
            if (r >= 'a' && r < 'a' + KIDS && !told[r - 'a']) {
                told[r - 'a'] = 1;
                reported++;
            } else {
                bad++;
            }
        }
        settled = 0;
        for (int i = 0; i < KIDS; i++) {
            int st;
            if (!gone[i] && waitpid(kids[i], &st, WNOHANG) == kids[i]) {
                gone[i] = 1;
                if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) {
                    killed++;
                } else if (WIFEXITED(st) && WEXITSTATUS(st) == 12) {
                    refused++;
                } else {
                    other++;
                    kt_printf("# child %d: %s\n", (int)kids[i], kt_status_str(st));
                }
            }
            settled += gone[i] || told[i];
        }
        usleep(10000);
    }
    KT_EQ(bad, 0);
    KT_EQ(other, 0);
    KT_EQ(settled, KIDS);
    for (int i = 0; i < KIDS; i++) {
        if (gone[i]) continue;
        kill(kids[i], SIGKILL);
        int st;
        KT_SYS_RET(waitpid(kids[i], &st, 0), kids[i]);
        KT_STATUS(st, kt_killed(SIGKILL));
    }
    close(done[0]);
    KT_SYS_OK(kill(filler, 0));
    KT_SYS_OK(kill(filler, SIGKILL));
    KT_WAIT_STATUS(filler, kt_killed(SIGKILL));
    kt_printf("# %d of %d reached max_map_count, %d were killed by the OOM killer, %d got ENOMEM\n",
              reported, KIDS, killed, refused);
    KT_TRUE(killed > 0, "no process was killed (%d reported)", reported);
    pid_t k = KT_FORK();
    if (k == 0) _exit(7);
    KT_WAIT_STATUS(k, kt_exited(7));
    long free1 = kt_meminfo_kb("MemFree:");
    kt_printf("# MemFree %ld kB before, %ld kB after\n", free0, free1);
    KT_TRUE(free1 >= free0 - free0 / 20, "MemFree %ld kB, was %ld", free1, free0);
    KT_SYS_OK(set_adj("0"));
}

KT_MAIN()
