/* sqlite_insert_rollback: Debian's sqlite3 inserts 1000 rows, one
 * transaction each, into a fresh database in rollback-journal mode
 * (sqlite_bench.h); the time of one whole run. */
#include "sqlite_bench.h"

int main(void) {
    static const struct mode m = {"sqlite_insert_rollback", "/tmp/bench_rollback.db",
                                   "CREATE TABLE t(x INTEGER PRIMARY KEY, v INTEGER);\n"};
    bench_run(m.name, sqlite_body, (void *)&m, 100);
    return 0;
}
