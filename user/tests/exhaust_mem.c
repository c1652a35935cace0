/* Memory fill then reuse (issue 18's stress cases; exhaust.c has the
 * others): a program of its own for the runner's 30 s per program. */
#include "kt.h"

/* Memory fill then reuse: a child touches anonymous memory a MiB at a time
 * until mmap refuses (ENOMEM) or the kernel kills it (SIGKILL: Linux's OOM
 * killer, the child's oom_score_adj 1000 makes it the choice); afterwards a
 * fresh fork works and MemFree comes back within 5 % of where it was. */
KT_CASE(memory_fill_then_reuse) {
    long before = kt_meminfo_kb("MemFree:");
    KT_TRUE(before > 0, "MemFree %ld", before);
    volatile long *filled = kt_shared_page();
    KT_TRUE(filled != 0, "shared page");
    *filled = 0;
    pid_t c = KT_FORK();
    if (c == 0) {
        int f = open("/proc/self/oom_score_adj", O_WRONLY);
        if (f >= 0) {
            if (write(f, "1000", 4) != 4) _exit(3);
            close(f);
        }
        for (;;) {
            char *p = mmap(0, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p == MAP_FAILED) _exit(errno == ENOMEM ? 0 : 2);
            for (long i = 0; i < (1 << 20); i += 4096) p[i] = 1;
            *filled += 1;
        }
    }
    int st = 0;
    KT_SYS_OK(waitpid(c, &st, 0));
    KT_TRUE(st == kt_killed(SIGKILL) || st == kt_exited(0), "status %s", kt_status_str(st));
    /* it had most of the free memory */
    KT_TRUE(*filled * 1024 > before / 2, "filled %ld MiB of %ld kB free", *filled, before);
    c = KT_FORK();
    if (c == 0) _exit(7);
    KT_SYS_OK(waitpid(c, &st, 0));
    KT_STATUS(st, kt_exited(7));
    long after = kt_meminfo_kb("MemFree:");
    for (int i = 0; i < 100 && before - after > before / 20; i++) { /* Linux's OOM reaper may lag */
        kt_msleep(20);
        after = kt_meminfo_kb("MemFree:");
    }
    KT_TRUE(before - after <= before / 20, "MemFree %ld kB before, %ld kB after", before, after);
    munmap((void *)filled, 4096);
}

KT_MAIN()
