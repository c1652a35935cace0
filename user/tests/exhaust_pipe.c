/* Pipe fill (issue 18's stress cases): uid 65534 grows pipes to 1 MiB and
 * fills them until the kernel says no (EMFILE at RLIMIT_NOFILE, EPERM or
 * ENOMEM from a limit) or kills the filler (SIGKILL: Linux's OOM killer,
 * oom_score_adj 1000 makes it the choice); no panic, and afterwards a fresh
 * fork works and MemFree is back within 5 % of where it was. */
#include "kt.h"

#define NOBODY 65534

KT_CASE(pipe_fill_as_nobody_ends_in_an_errno_or_sigkill) {
    long before = kt_meminfo_kb("MemFree:");
    KT_TRUE(before > 0, "MemFree %ld", before);
    volatile long *filled = kt_shared_page(); /* KiB written, then the errno that ended it */
    KT_TRUE(filled != 0, "shared page");
    filled[0] = filled[1] = 0;
    pid_t c = KT_FORK();
    if (c == 0) {
        int f = open("/proc/self/oom_score_adj", O_WRONLY);
        if (f >= 0) {
            if (write(f, "1000", 4) != 4) _exit(3);
            close(f);
        }
        if (setgid(NOBODY) != 0 || setuid(NOBODY) != 0) _exit(4);
        static char chunk[65536];
        memset(chunk, 'p', sizeof chunk);
        for (;;) {
            int p[2];
            if (pipe2(p, O_NONBLOCK) != 0) {
                filled[1] = errno;
                _exit(0);
            }
            fcntl(p[1], F_SETPIPE_SZ, 1 << 20); /* EPERM past a limit: the pipe stays small */
            for (;;) {
                ssize_t w = write(p[1], chunk, sizeof chunk);
                if (w > 0) {
                    filled[0] += w / 1024;
                    continue;
                }
                if (errno != EAGAIN) {
                    filled[1] = errno;
                    _exit(0);
                }
                break;
            }
        }
    }
    int st = 0;
    KT_SYS_OK(waitpid(c, &st, 0));
    kt_printf("# pipe fill: %ld KiB in pipes, then %s (%s)\n", filled[0],
              filled[1] ? kt_errname((int)filled[1]) : "-", kt_status_str(st));
    KT_TRUE(st == kt_killed(SIGKILL) || st == kt_exited(0), "status %s", kt_status_str(st));
    KT_TRUE(st == kt_killed(SIGKILL) || filled[1] == EMFILE || filled[1] == EPERM || filled[1] == ENOMEM ||
                filled[1] == ENFILE,
            "ended by %s", kt_errname((int)filled[1]));
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
