/* What sqlite_insert_rollback and sqlite_insert_wal share: one operation
 * is one run of Debian's sqlite3 (dynamic) that creates a table in a fresh
 * database in /tmp and inserts SQLITE_ROWS rows, each in a transaction of
 * its own, read from a pipe. Every commit takes and drops sqlite's file
 * locks (fcntl F_SETLK), writes the journal or the WAL, and in WAL mode
 * goes through the shared mapping of the -shm file; the program's start
 * (ld.so, libraries) is part of the operation, as for a user. */
#ifndef SQLITE_BENCH_H
#define SQLITE_BENCH_H
#include "bench.h"

#include <fcntl.h>
#include <sys/wait.h>

#define SQLITE "/usr/bin/sqlite3"
#define SQLITE_ROWS 1000

static void run(const char *name, const char *db, const char *head) {
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
    for (int i = 0; i < SQLITE_ROWS; i++) {
        int n = snprintf(line, sizeof line, "INSERT INTO t(v) VALUES(%d);\n", i);
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

static uint64_t sqlite_body(uint64_t iters, void *arg) {
    const struct mode *m = arg;
    char path[80];
    uint64_t total = 0;
    for (uint64_t i = 0; i < iters; i++) {
        unlink(m->db);
        snprintf(path, sizeof path, "%s-wal", m->db);
        unlink(path);
        snprintf(path, sizeof path, "%s-shm", m->db);
        unlink(path);
        uint64_t t0 = bench_now();
        run(m->name, m->db, m->head);
        total += bench_now() - t0;
    }
    return total;
}

#endif
