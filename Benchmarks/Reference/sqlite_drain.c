/*
 * sqlite_drain: the physical limit for draining an EventSauce `outbox` table through libsqlite3.
 *
 * Runs exactly the SQL that OutboxSQLite's SQLiteSource runs (see
 * Sources/OutboxSQLite/Internal/SQLiteOutboxQueries.swift) and nothing else:
 *
 *   loop {
 *     fetch a batch   SELECT "id", "payload" FROM "outbox_messages"
 *                     WHERE "consumed" = 0 AND "id" > ?1 ORDER BY "id" LIMIT ?2
 *     complete it     BEGIN IMMEDIATE; UPDATE … SET "consumed" = 1 (or DELETE) WHERE "id" IN (?1, …)
 *                     in statements of at most 200 ids; COMMIT
 *   } until a fetch returns no row
 *
 * Payload bytes are read with sqlite3_column_blob (not copied, their lengths summed so the
 * result is checked): the floor the relay is measured against, not a relay.
 *
 *   sqlite_drain DB_PATH mark|delete BATCH_SIZE
 *
 * Prints one line: `RESULT program=c rows=… bytes=… seconds=… cpu_seconds=…`.
 * Exit status 0 on success, 1 on any error.
 *
 * Build: gcc -O2 -o sqlite_drain sqlite_drain.c $(pkg-config --cflags --libs sqlite3)
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#define IDS_PER_STATEMENT 200

static sqlite3 *db;

static void die(const char *what) {
    fprintf(stderr, "sqlite_drain: %s: %s\n", what, sqlite3_errmsg(db));
    sqlite3_close(db);
    exit(1);
}

static void exec(const char *sql) {
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) die(sql);
}

static sqlite3_stmt *prepare(const char *sql) {
    sqlite3_stmt *statement;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &statement, NULL) != SQLITE_OK) die(sql);
    return statement;
}

/* The complete statement for `count` ids, cached per count like the source does. */
static sqlite3_stmt *complete_statements[IDS_PER_STATEMENT + 1];

static sqlite3_stmt *complete_statement(int count, int delete) {
    if (complete_statements[count]) return complete_statements[count];
    size_t size = 128 + (size_t)count * 8;
    char *sql = malloc(size);
    int length = snprintf(sql, size, delete
        ? "DELETE FROM \"outbox_messages\" WHERE \"id\" IN ("
        : "UPDATE \"outbox_messages\" SET \"consumed\" = 1 WHERE \"id\" IN (");
    for (int i = 1; i <= count; i++) {
        length += snprintf(sql + length, size - (size_t)length, i == 1 ? "?%d" : ", ?%d", i);
    }
    snprintf(sql + length, size - (size_t)length, ")");
    complete_statements[count] = prepare(sql);
    free(sql);
    return complete_statements[count];
}

static double now(void) {
    struct timespec spec;
    clock_gettime(CLOCK_MONOTONIC, &spec);
    return (double)spec.tv_sec + (double)spec.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 4 || (strcmp(argv[2], "mark") && strcmp(argv[2], "delete"))) {
        fprintf(stderr, "usage: sqlite_drain DB_PATH mark|delete BATCH_SIZE\n");
        return 1;
    }
    int delete = strcmp(argv[2], "delete") == 0;
    int batch = atoi(argv[3]);
    if (batch <= 0) { fprintf(stderr, "sqlite_drain: BATCH_SIZE must be positive\n"); return 1; }

    double start = now();
    if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) die("open");
    sqlite3_busy_timeout(db, 5000);
    exec("PRAGMA journal_mode=WAL");
    sqlite3_stmt *fetch = prepare(
        "SELECT \"id\", \"payload\" FROM \"outbox_messages\" WHERE \"consumed\" = 0 AND \"id\" > ?1 ORDER BY \"id\" LIMIT ?2");

    sqlite3_int64 *ids = malloc(sizeof(sqlite3_int64) * (size_t)batch);
    sqlite3_int64 after = INT64_MIN;
    long long rows = 0, bytes = 0;
    for (;;) {
        sqlite3_bind_int64(fetch, 1, after);
        sqlite3_bind_int64(fetch, 2, batch);
        int count = 0, result;
        while ((result = sqlite3_step(fetch)) == SQLITE_ROW) {
            ids[count++] = sqlite3_column_int64(fetch, 0);
            (void)sqlite3_column_blob(fetch, 1);
            bytes += sqlite3_column_bytes(fetch, 1);
        }
        if (result != SQLITE_DONE) die("fetch");
        sqlite3_reset(fetch);
        if (count == 0) break;
        after = ids[count - 1];
        rows += count;

        exec("BEGIN IMMEDIATE");
        for (int first = 0; first < count; first += IDS_PER_STATEMENT) {
            int n = count - first < IDS_PER_STATEMENT ? count - first : IDS_PER_STATEMENT;
            sqlite3_stmt *complete = complete_statement(n, delete);
            for (int i = 0; i < n; i++) sqlite3_bind_int64(complete, i + 1, ids[first + i]);
            if (sqlite3_step(complete) != SQLITE_DONE) die("complete");
            sqlite3_reset(complete);
        }
        exec("COMMIT");
    }
    double seconds = now() - start;

    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    double cpu = (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6
               + (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec / 1e6;
    printf("RESULT program=c rows=%lld bytes=%lld seconds=%.6f cpu_seconds=%.6f\n", rows, bytes, seconds, cpu);

    sqlite3_finalize(fetch);
    for (int i = 0; i <= IDS_PER_STATEMENT; i++) if (complete_statements[i]) sqlite3_finalize(complete_statements[i]);
    free(ids);
    sqlite3_close(db);
    return 0;
}
