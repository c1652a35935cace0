/*
 * /init of the Debian bench image (`cargo xtask bench`: the Debian system
 * of `cargo xtask qemu --debian` with this program as /init), pid 1.
 *
 * Mounts proc, sysfs, devtmpfs and the tmpfs file systems as the Debian
 * system's own /init does (errors ignored), then times the start-up of
 * two of Debian's dynamically linked programs, each as one operation:
 * fork, the child execve()s the program, the parent waitpid()s (it must
 * exit 0):
 *
 *     python3_c_pass   /usr/bin/python3 -c pass
 *     bash_c_true      /usr/bin/bash -c true
 *
 * One run first (not timed: the page cache, QEMU's translations), then
 * bench.h's batches (`BENCH <name> <ns>`), then one more run measured with
 * wait4()'s rusage, printed as a `bench:` line (user and system time,
 * minor faults: where the time goes). Each row runs in a child process of
 * its own with a 120 s alarm; a failure is a `BENCHFAIL` line. Finally
 * `bench: done` and reboot(RB_POWER_OFF).
 */
#include "bench.h"
#include "pid1.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define TIMEOUT_S 120

struct cmd {
    const char *name;
    char *argv[4];
};

static char *envp[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                       "HOME=/root",
                       "TERM=vt220",
                       "SHELL=/bin/bash",
                       "USER=root",
                       "LOGNAME=root",
                       "LANG=C.UTF-8",
                       0};

/* One run: fork, exec, wait (with the child's rusage in *ru when non-null). */
static void run_one(const struct cmd *c, struct rusage *ru) {
    pid_t p = fork();
    if (p < 0) bench_fail(c->name, "fork");
    if (p == 0) {
        execve(c->argv[0], c->argv, envp);
        bench_fail(c->name, "execve");
    }
    int st;
    struct rusage dummy;
    if (wait4(p, &st, 0, ru ? ru : &dummy) != p) bench_fail(c->name, "wait4");
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        errno = 0;
        bench_printf("BENCHFAIL %s: %s did not exit 0 (status %#x)\n", c->name, c->argv[0], st);
        _exit(1);
    }
}

static uint64_t body(uint64_t iters, void *arg) {
    const struct cmd *c = arg;
    uint64_t t0 = bench_now();
    for (uint64_t i = 0; i < iters; i++) run_one(c, 0);
    return bench_now() - t0;
}

static double ms(struct timeval tv) {
    return (double)tv.tv_sec * 1e3 + (double)tv.tv_usec / 1e3;
}

static void bench_cmd(const struct cmd *c) {
    run_one(c, 0);
    bench_run(c->name, body, (void *)c, 1ULL << 20);
    struct rusage ru;
    uint64_t t0 = bench_now();
    run_one(c, &ru);
    double wall = (double)(bench_now() - t0) / 1e6;
    bench_printf("bench: %s: one run %.1f ms: user %.1f ms, system %.1f ms, %ld minor faults, %ld major\n",
                 c->name, wall, ms(ru.ru_utime), ms(ru.ru_stime), ru.ru_minflt, ru.ru_majflt);
}

int main(void) {
    pid1_console();
    mount("proc", "/proc", "proc", 0, 0);
    mount("sysfs", "/sys", "sysfs", 0, 0);
    mount("devtmpfs", "/dev", "devtmpfs", 0, 0);
    mkdir("/dev/shm", 01777);
    mount("tmpfs", "/dev/shm", "tmpfs", 0, "mode=1777");
    mount("tmpfs", "/tmp", "tmpfs", 0, "mode=1777");
    mount("tmpfs", "/run", "tmpfs", 0, "mode=755");
    if (chdir("/root") != 0) chdir("/");

    static const struct cmd cmds[] = {
        {"python3_c_pass", {"/usr/bin/python3", "-c", "pass", 0}},
        {"bash_c_true", {"/usr/bin/bash", "-c", "true", 0}},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        const struct cmd *c = &cmds[i];
        pid_t pid = fork();
        if (pid < 0) {
            bench_printf("BENCHFAIL %s: (init) fork: %s\n", c->name, strerror(errno));
            continue;
        }
        if (pid == 0) {
            setpgid(0, 0);
            alarm(TIMEOUT_S);
            bench_cmd(c);
            _exit(0);
        }
        setpgid(pid, pid);
        int st = 0;
        for (;;) {
            pid_t p = waitpid(-1, &st, __WALL);
            if (p == pid || (p < 0 && errno != EINTR)) break;
        }
        kill(-pid, SIGKILL);
        if (WIFSIGNALED(st))
            bench_printf("BENCHFAIL %s: (init) killed by signal %d (%s)%s\n", c->name, WTERMSIG(st),
                         strsignal(WTERMSIG(st)), WTERMSIG(st) == SIGALRM ? ": timed out" : "");
        else if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
            bench_printf("BENCHFAIL %s: (init) exited %d\n", c->name, WEXITSTATUS(st));
    }
    while (waitpid(-1, 0, WNOHANG | __WALL) > 0) {
    }
    bench_printf("bench: done\n");
    sync();
    reboot(RB_POWER_OFF);
    bench_printf("bench: reboot(RB_POWER_OFF): %s\n", strerror(errno));
    return 1;
}
