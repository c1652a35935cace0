/*
 * /init of the test initramfs (pid 1).
 *
 * Mounts proc on /proc and tmpfs on /tmp when it can (errors ignored), then
 * runs every executable in /tests in name order, one at a time: fork, a
 * process group of its own, execve; waits with a per-test timeout (30 s,
 * 120 s for the few programs of `slow_tests`, or KT_TIMEOUT=SECS in the
 * environment, which Linux fills from unknown
 * `KEY=VALUE` words of its command line) and kills the test's process group
 * with SIGKILL when it runs out. For each test it prints
 *
 *     TEST <name> status <decoded wait status> (<seconds> s)
 *
 * and a `FAIL <name>: (program): ...` line when the test died by a signal,
 * timed out, or exited non-zero without having reported its failures
 * (kt.h exits KT_EXIT_REPORTED when it printed FAIL lines). Orphans are
 * reaped all along (pid1.h holds what this shares with the bench /init).
 * Arguments (words after ` -- ` on the kernel command line, as
 * `cargo xtask test --tests a,b` passes them) name the tests to run
 * instead of all of them; `timeout=SECS` among them sets the per-test
 * timeout, and a `KEY=VALUE` word with an upper-case KEY is put in every
 * test's environment (`KT_STRESS=1`: smp.c's long rounds).
 * At the end it prints `init: done` and powers off with
 * reboot(RB_POWER_OFF).
 */
#include "kt.h"
#include "pid1.h"

#include <sys/reboot.h>

#define MAX_TESTS 256

static int orphans; /* reaped processes that were not a test itself */

static void exec_error(const char *path, int err) {
    kt_printf("init: execve %s: %s\n", path, kt_errname(err));
}

static char init_start[64] = "KT_INIT_START=";

#define MAX_EXTRA_ENV 8
static char *extra_env[MAX_EXTRA_ENV];
static int n_extra_env;

/* `KEY=VALUE` with KEY in upper case: for the tests' environment. */
static int is_env_word(const char *w) {
    const char *eq = strchr(w, '=');
    if (!eq || eq == w) return 0;
    for (const char *c = w; c < eq; c++)
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_')) return 0;
    return 1;
}

/* Programs whose own work takes seconds of CPU even on a quiet host (a
 * memory or fd table filled to its limit, 3 s of CPU time spent against
 * RLIMIT_CPU, SQLite, the socket stress loops): their limit is
 * SLOW_FACTOR times the default one, so that a host whose other load
 * slows the guest 2-4x does not turn them into timeouts (seen at 30 s
 * under a load of 15-27 on 2 cores); a hang still ends at that limit. A
 * timeout given with `timeout=` or KT_TIMEOUT is used as given. */
#define SLOW_FACTOR 4
static const char *const slow_tests[] = {
    "cgroup_exit", "exhaust", "inet_stress", "mem_return", "oom_kmem", "rlimit", "sqlite",
};

static int limit_for(const char *name, int timeout, int given) {
    if (given) return timeout;
    for (size_t i = 0; i < sizeof slow_tests / sizeof slow_tests[0]; i++)
        if (strcmp(name, slow_tests[i]) == 0) return timeout * SLOW_FACTOR;
    return timeout;
}

static void run_test(const char *dir, const char *name, int timeout) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *envp[5 + MAX_EXTRA_ENV] = {"PATH=/bin:/tests", "HOME=/", "TERM=dumb", init_start};
    for (int i = 0; i < n_extra_env; i++) envp[4 + i] = extra_env[i];
    struct pid1_result r;
    if (pid1_run(path, envp, timeout, &orphans, exec_error, &r) != 0) {
        kt_printf("FAIL %s: (program): fork: %s\n", name, kt_errname(errno));
        return;
    }
    kt_printf("TEST %s status %s (%.2f s)\n", name, kt_status_str(r.status), r.secs);
    if (r.timed_out)
        kt_printf("FAIL %s: (program): timed out after %d s\n", name, timeout);
    else if (WIFSIGNALED(r.status))
        kt_printf("FAIL %s: (program): %s\n", name, kt_status_str(r.status));
    else if (WIFEXITED(r.status) && WEXITSTATUS(r.status) != 0 &&
             WEXITSTATUS(r.status) != KT_EXIT_REPORTED)
        kt_printf("FAIL %s: (program): %s without a FAIL line\n", name, kt_status_str(r.status));
}

int main(int argc, char **argv) {
    /* the session and group the kernel started init in (Linux: 0 and 0),
     * for isolation.c to check; setsid() below makes both 1 */
    snprintf(init_start, sizeof init_start, "KT_INIT_START=%d %d", (int)getsid(0),
             (int)getpgid(0));
    pid1_console();
    pid1_mounts();

    int timeout = 30, given = 0;
    const char *t = getenv("KT_TIMEOUT");
    if (t && atoi(t) > 0) timeout = atoi(t), given = 1;

    static char *names[MAX_TESTS];
    const char *dir = "/tests";
    /* `timeout=SECS` among the arguments sets the timeout (the fuzz
     * campaigns of `cargo xtask fuzz`); the other arguments are tests */
    int nargs = 0;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "timeout=", 8) == 0 && atoi(argv[i] + 8) > 0) timeout = atoi(argv[i] + 8), given = 1;
        else if (is_env_word(argv[i])) {
            if (n_extra_env < MAX_EXTRA_ENV) extra_env[n_extra_env++] = argv[i];
        } else nargs++;
    }
    int n = nargs > 0 ? 0 : pid1_list(dir, names, MAX_TESTS);
    for (int i = 1; i < argc && n < MAX_TESTS; i++)
        if (strncmp(argv[i], "timeout=", 8) != 0 && !is_env_word(argv[i])) names[n++] = argv[i];
    if (n < 0) {
        kt_printf("FAIL init: (program): opendir %s: %s\n", dir, kt_errname(errno));
        n = 0;
    }
    kt_printf("init: %d tests in %s, timeout %d s each%s\n", n, dir, timeout,
              given ? "" : " (x4 for the slow ones)");
    for (int i = 0; i < n; i++) run_test(dir, names[i], limit_for(names[i], timeout, given));

    orphans += pid1_reap_all();
    kt_printf("init: reaped %d orphans\n", orphans);
    kt_printf("init: done\n");
    sync();
    reboot(RB_POWER_OFF);
    kt_printf("init: reboot(RB_POWER_OFF): %s\n", kt_errname(errno));
    return 1;
}
