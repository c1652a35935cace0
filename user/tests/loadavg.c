/* The load average (/proc/loadavg, sysinfo(2)) as Linux keeps it: a mean
 * of the runnable tasks sampled every 5 s, so a task that spins for
 * longer than a period moves the 1-minute mean above zero; the file's
 * format; sysinfo's loads in 16-bit fixed point agree with the file. */
#include "kt.h"

#include <stdio.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int read_loadavg(double l[3], int *running, int *threads, int *last) {
    FILE *f = fopen("/proc/loadavg", "r");
    if (!f) return -1;
    int n = fscanf(f, "%lf %lf %lf %d/%d %d", &l[0], &l[1], &l[2], running, threads, last);
    fclose(f);
    return n;
}

KT_CASE(proc_loadavg_format) {
    double l[3];
    int running = 0, threads = 0, last = 0;
    KT_EQ(read_loadavg(l, &running, &threads, &last), 6);
    KT_TRUE(l[0] >= 0 && l[1] >= 0 && l[2] >= 0, "%f %f %f", l[0], l[1], l[2]);
    KT_TRUE(running >= 1 && running <= threads, "%d/%d", running, threads);
    KT_TRUE(last >= getpid(), "last pid %d, mine %d", last, getpid());
}

KT_CASE(a_spinning_task_raises_the_one_minute_load) {
    /* longer than one 5 s period: a sample lands while this runs */
    double end = now_s() + 5.3;
    volatile unsigned long x = 0;
    while (now_s() < end) x++;
    double l[3];
    int running, threads, last;
    KT_EQ(read_loadavg(l, &running, &threads, &last), 6);
    KT_TRUE(l[0] >= 0.05, "1-minute load %.2f after a 5.3 s spin", l[0]);
    struct sysinfo si;
    KT_SYS_OK(sysinfo(&si));
    double s1 = si.loads[0] / 65536.0;
    /* the same mean (a sample may land between the two reads) */
    KT_TRUE(s1 >= 0.04, "sysinfo's 1-minute load %.3f, the file's %.2f", s1, l[0]);
}

KT_MAIN()
