/*
 * /init of the test initramfs (pid 1).
 *
 * Mounts proc on /proc and tmpfs on /tmp when it can (errors ignored), then
 * runs every executable in /tests in name order, one at a time: fork, a
 * process group of its own, execve; waits with a per-test timeout (30 s, or
 * KT_TIMEOUT=SECS in the environment, which Linux fills from unknown
 * `KEY=VALUE` words of its command line) and kills the test's process group
 * with SIGKILL when it runs out. For each test it prints
 *
 *     TEST <name> status <decoded wait status> (<seconds> s)
 *
 * and a `FAIL <name>: (program): ...` line when the test died by a signal,
 * timed out, or exited non-zero without having reported its failures
 * (kt.h exits KT_EXIT_REPORTED when it printed FAIL lines). Orphans are
 * reaped all along. At the end it prints `init: done` and powers off with
 * reboot(RB_POWER_OFF).
 */
#include "kt.h"

#include <dirent.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>

#define MAX_TESTS 256

static int orphans; /* reaped processes that were not a test itself */

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reaps every zombie child without blocking; returns the status of `want`
 * when it was among them (and sets *found). */
static void reap(pid_t want, int *found, int *status) {
    for (;;) {
        int st;
        pid_t p = waitpid(-1, &st, WNOHANG | __WALL);
        if (p <= 0) return;
        if (p == want) {
            *found = 1;
            *status = st;
        } else {
            orphans++;
        }
    }
}

static void run_test(const char *dir, const char *name, int timeout) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    double start = now();
    pid_t pid = fork();
    if (pid < 0) {
        kt_printf("FAIL %s: (program): fork: %s\n", name, kt_errname(errno));
        return;
    }
    if (pid == 0) {
        setpgid(0, 0);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, 0);
        char *argv[] = {path, 0};
        char *envp[] = {"PATH=/bin:/tests", "HOME=/", "TERM=dumb", 0};
        execve(path, argv, envp);
        kt_printf("init: execve %s: %s\n", path, kt_errname(errno));
        _exit(127);
    }
    setpgid(pid, pid);
    int found = 0, status = 0, timed_out = 0;
    while (!found) {
        reap(pid, &found, &status);
        if (found) break;
        if (!timed_out && now() - start > timeout) {
            timed_out = 1;
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
        }
        kt_msleep(timed_out ? 10 : 2);
    }
    /* whatever the test left behind in its group goes too */
    kill(-pid, SIGKILL);
    double secs = now() - start;
    kt_printf("TEST %s status %s (%.2f s)\n", name, kt_status_str(status), secs);
    if (timed_out)
        kt_printf("FAIL %s: (program): timed out after %d s\n", name, timeout);
    else if (WIFSIGNALED(status))
        kt_printf("FAIL %s: (program): %s\n", name, kt_status_str(status));
    else if (WIFEXITED(status) && WEXITSTATUS(status) != 0 &&
             WEXITSTATUS(status) != KT_EXIT_REPORTED)
        kt_printf("FAIL %s: (program): %s without a FAIL line\n", name, kt_status_str(status));
}

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    /* a console on fd 0-2 even when the kernel did not open one */
    if (fcntl(1, F_GETFD) == -1) {
        int fd = open("/dev/console", O_RDWR);
        if (fd >= 0) {
            dup2(fd, 0);
            dup2(fd, 1);
            dup2(fd, 2);
            if (fd > 2) close(fd);
        }
    }
    setsid();
    mkdir("/proc", 0555);
    mkdir("/tmp", 01777);
    mount("proc", "/proc", "proc", 0, 0);
    mount("tmpfs", "/tmp", "tmpfs", 0, "mode=1777");

    int timeout = 30;
    const char *t = getenv("KT_TIMEOUT");
    if (t && atoi(t) > 0) timeout = atoi(t);

    static char *names[MAX_TESTS];
    int n = 0;
    const char *dir = "/tests";
    DIR *d = opendir(dir);
    if (!d) {
        kt_printf("FAIL init: (program): opendir %s: %s\n", dir, kt_errname(errno));
    } else {
        struct dirent *e;
        while ((e = readdir(d)) && n < MAX_TESTS) {
            if (e->d_name[0] == '.') continue;
            char path[512];
            struct stat sb;
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || !(sb.st_mode & 0111)) continue;
            names[n++] = strdup(e->d_name);
        }
        closedir(d);
    }
    qsort(names, (size_t)n, sizeof names[0], cmp);
    kt_printf("init: %d tests in %s, timeout %d s each\n", n, dir, timeout);
    for (int i = 0; i < n; i++) run_test(dir, names[i], timeout);

    int found = 0, status = 0;
    reap(0, &found, &status);
    kt_printf("init: reaped %d orphans\n", orphans);
    kt_printf("init: done\n");
    sync();
    reboot(RB_POWER_OFF);
    kt_printf("init: reboot(RB_POWER_OFF): %s\n", kt_errname(errno));
    return 1;
}
