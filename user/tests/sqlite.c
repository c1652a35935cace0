/* Debian's sqlite3 (dynamically linked, from the Debian test data) on a
 * 100,000-row database, in rollback-journal and in WAL mode, while a second
 * process holds a write transaction: file locks (fcntl F_SETLK on the
 * database, the journal and the WAL index), a shared mapping of the WAL
 * index (-shm) and the errors sqlite reports must be what Linux gives. */
#include "kt.h"

#define SQLITE "/usr/bin/sqlite3"

/* Runs sqlite3 on `db` with `sql` as its argument; stdout and stderr go
 * into `out`. Returns the wait status. */
static int sql(const char *db, const char *sql, char *out, size_t cap) {
    int p[2];
    if (pipe(p) != 0) return -1;
    pid_t c = fork();
    if (c == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        char *argv[] = {SQLITE, "-batch", (char *)db, (char *)sql, 0};
        char *envp[] = {"HOME=/tmp", 0};
        execve(SQLITE, argv, envp);
        _exit(127);
    }
    close(p[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(p[0], out + n, cap - 1 - n)) > 0) n += (size_t)r;
    out[n] = 0;
    close(p[0]);
    int st = -1;
    waitpid(c, &st, 0);
    return st;
}

/* A sqlite3 that reads its statements from a pipe: the holder of a
 * transaction. */
struct holder {
    pid_t pid;
    int in, out;
};

static int holder_start(struct holder *h, const char *db) {
    int i[2], o[2];
    if (pipe(i) != 0 || pipe(o) != 0) return -1;
    h->pid = fork();
    if (h->pid == 0) {
        dup2(i[0], 0);
        dup2(o[1], 1);
        dup2(o[1], 2);
        close(i[0]);
        close(i[1]);
        close(o[0]);
        close(o[1]);
        char *argv[] = {SQLITE, "-batch", (char *)db, 0};
        char *envp[] = {"HOME=/tmp", 0};
        execve(SQLITE, argv, envp);
        _exit(127);
    }
    close(i[0]);
    close(o[1]);
    h->in = i[1];
    h->out = o[0];
    return 0;
}

/* Sends `stmts` and waits until the holder printed `mark`. */
static int holder_say(struct holder *h, const char *stmts, const char *mark) {
    if (write(h->in, stmts, strlen(stmts)) != (ssize_t)strlen(stmts)) return -1;
    char buf[512];
    size_t n = 0;
    while (n + 1 < sizeof buf) {
        ssize_t r = read(h->out, buf + n, sizeof buf - 1 - n);
        if (r <= 0) return -1;
        n += (size_t)r;
        buf[n] = 0;
        if (strstr(buf, mark)) return 0;
    }
    return -1;
}

static int holder_end(struct holder *h) {
    const char *c = "COMMIT;\n.quit\n";
    if (write(h->in, c, strlen(c)) < 0) return -1;
    close(h->in);
    char buf[256];
    while (read(h->out, buf, sizeof buf) > 0) {
    }
    close(h->out);
    int st = -1;
    waitpid(h->pid, &st, 0);
    return st;
}

#define FILL                                                                                      \
    "CREATE TABLE t(x INTEGER PRIMARY KEY, v TEXT);"                                              \
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000) "          \
    "INSERT INTO t SELECT x, printf('row %d', x) FROM c;"                                         \
    "SELECT count(*), sum(x), max(v) FROM t;"

static void contention(const char *db, int wal) {
    char out[4096];
    unlink(db);
    char wal_path[128], shm_path[128];
    snprintf(wal_path, sizeof wal_path, "%s-wal", db);
    snprintf(shm_path, sizeof shm_path, "%s-shm", db);
    unlink(wal_path);
    unlink(shm_path);
    if (wal) {
        KT_STATUS(sql(db, "PRAGMA journal_mode=WAL;", out, sizeof out), kt_exited(0));
        KT_TRUE(strcmp(out, "wal\n") == 0, "journal_mode: %.300s", out);
    }
    KT_STATUS(sql(db, FILL, out, sizeof out), kt_exited(0));
    KT_TRUE(strcmp(out, "100000|5000050000|row 99999\n") == 0, "fill: %.300s", out);

    struct holder h;
    KT_SYS_OK(holder_start(&h, db));
    KT_SYS_OK(holder_say(&h, "BEGIN IMMEDIATE;\nINSERT INTO t(v) VALUES('held');\nSELECT 'in txn';\n", "in txn"));
    /* WAL mode works through the -shm file, mapped shared by every user */
    if (wal) KT_SYS_OK(access(shm_path, F_OK));
    /* a second writer is refused at once (no busy timeout): SQLITE_BUSY (5)
     * is the exit status, and the message is sqlite's */
    int st = sql(db, "INSERT INTO t(v) VALUES('second');", out, sizeof out);
    KT_STATUS(st, kt_exited(5));
    KT_TRUE(strcmp(out, "Error: stepping, database is locked (5)\n") == 0, "second writer: %.300s", out);
    /* a reader sees the last committed state (the writer's RESERVED lock,
     * or in WAL mode its snapshot, lets readers in) */
    st = sql(db, "SELECT count(*) FROM t;", out, sizeof out);
    KT_STATUS(st, kt_exited(0));
    KT_TRUE(strcmp(out, "100000\n") == 0, "reader during the write: %.300s", out);
    KT_STATUS(holder_end(&h), kt_exited(0));
    KT_STATUS(sql(db, "INSERT INTO t(v) VALUES('after'); SELECT count(*) FROM t;", out, sizeof out),
              kt_exited(0));
    KT_TRUE(strcmp(out, "100002\n") == 0, "after the commit: %.300s", out);
    KT_STATUS(sql(db, "PRAGMA integrity_check;", out, sizeof out), kt_exited(0));
    KT_TRUE(strcmp(out, "ok\n") == 0, "integrity_check: %.300s", out);
}

KT_CASE(rollback_journal_100k_rows_and_a_locked_writer) {
    contention("/tmp/kt_rollback.db", 0);
}

KT_CASE(wal_100k_rows_and_a_locked_writer) {
    contention("/tmp/kt_wal.db", 1);
}

KT_MAIN()
