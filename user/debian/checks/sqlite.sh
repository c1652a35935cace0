# 100,000 rows in rollback-journal and WAL mode; a second process holds a
# write transaction while a third tries to write (database is locked) and a
# fourth reads
cd /tmp
for mode in delete wal; do
    rm -f t.db t.db-journal t.db-wal t.db-shm held.out
    sqlite3 t.db "PRAGMA journal_mode=$mode;" "CREATE TABLE t(a INTEGER, b TEXT);" \
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000) INSERT INTO t SELECT x, hex(x) FROM c;"
    rm -f hold; mkfifo hold
    { echo "BEGIN IMMEDIATE;"; echo "INSERT INTO t VALUES(0, 'held');"; echo "SELECT 'holding';"; cat hold > /dev/null; echo "ROLLBACK;"; } | sqlite3 t.db > held.out &
    until [ -s held.out ]; do sleep 0.1; done
    cat held.out
    sqlite3 t.db "INSERT INTO t VALUES(1, 'second');"
    echo "writer $?"
    sqlite3 t.db "SELECT count(*), sum(a), max(b) FROM t;"
    echo done > hold
    wait
    sqlite3 t.db "INSERT INTO t VALUES(1, 'after');" "SELECT count(*) FROM t;" "PRAGMA integrity_check;"
done
rm -f t.db t.db-journal t.db-wal t.db-shm hold held.out
