/* sqlite_insert_wal: Debian's sqlite3 inserts 1000 rows, one
 * transaction each, into a fresh database in WAL mode
 * (sqlite_bench.h); the time of one whole run. */
#include "sqlite_bench.h"

int main(void) {
    static const struct mode m = {"sqlite_insert_wal", "/tmp/bench_wal.db",
                                   "PRAGMA journal_mode=WAL;\nCREATE TABLE t(x INTEGER PRIMARY KEY, v INTEGER);\n"};
    bench_run(m.name, sqlite_body, (void *)&m, 100);
    return 0;
}
