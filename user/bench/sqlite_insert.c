/* sqlite_insert_rollback, sqlite_insert_wal: one insert in a transaction
 * of its own, into a table of Debian's sqlite3 (dynamic) in /tmp, in
 * rollback-journal and in WAL mode. Each batch starts one sqlite3 that
 * reads `iters` INSERT statements from a pipe; the figure is the time per
 * insert (the process start-up is shared by the batch). Every commit takes
 * and drops sqlite's file locks (fcntl F_SETLK), writes the journal or the
 * WAL, and in WAL mode goes through the shared mapping of the -shm file. */
#include "bench.h"

#include <fcntl.h>
#include <sys/wait.h>

#define SQLITE "/usr/bin/sqlite3"

static void run(const char *name, const char *db, const char *head, uint64_t iters) {
    int p[2];
    if (pipe(p) != 0) bench_fail(name, "pipe");
    pid_t c = fork();
    if (c < 0) bench_fail(name, "fork");
    if (c == 0) {
        dup2(p[0], 0);
        close(p[0]);
        close(p[1]);
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) dup2(null, 1);
        char *argv[] = {SQLITE, "-batch", (char *)db, 0};
        char *envp[] = {"HOME=/tmp", 0};
        execve(SQLITE, argv, envp);
        bench_fail(name, "execve " SQLITE);
    }
    close(p[0]);
    char line[96];
    if (write(p[1], head, strlen(head)) < 0) bench_fail(name, "write");
    for (uint64_t i = 0; i < iters; i++) {
        int n = snprintf(line, sizeof line, "INSERT INTO t(v) VALUES(%llu);\n", (unsigned long long)i);
        if (write(p[1], line, (size_t)n) != n) bench_fail(name, "write");
    }
    close(p[1]);
    int st;
    if (waitpid(c, &st, 0) != c) bench_fail(name, "waitpid");
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        errno = 0;
        bench_fail(name, "sqlite3 did not exit 0");
    }
}

struct mode {
    const char *name, *db, *head;
};

static uint64_t body(uint64_t iters, void *arg) {
    const struct mode *m = arg;
    char path[80];
    unlink(m->db);
    snprintf(path, sizeof path, "%s-wal", m->db);
    unlink(path);
    snprintf(path, sizeof path, "%s-shm", m->db);
    unlink(path);
    uint64_t t0 = bench_now();
    run(m->name, m->db, m->head, iters);
    return bench_now() - t0;
}

int main(void) {
    static const struct mode rollback = {"sqlite_insert_rollback", "/tmp/bench_rollback.db",
                                         "CREATE TABLE t(x INTEGER PRIMARY KEY, v INTEGER);\n"};
    static const struct mode wal = {"sqlite_insert_wal", "/tmp/bench_wal.db",
                                    "PRAGMA journal_mode=WAL;\nCREATE TABLE t(x INTEGER PRIMARY KEY, v INTEGER);\n"};
    bench_run(rollback.name, body, (void *)&rollback, 20000);
    bench_run(wal.name, body, (void *)&wal, 20000);
    return 0;
}
