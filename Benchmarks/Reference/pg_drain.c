/*
 * pg_drain: the physical limit for draining an EventSauce outbox table through libpq.
 *
 * Runs exactly the SQL that OutboxPostgres' PostgresSource runs (see
 * Sources/OutboxPostgres/Internal/PostgresStatements.swift), as prepared statements with
 * text parameters and text results, and nothing else:
 *
 *   loop {
 *     fetch a batch   (the first with `fetchFirst`, then `fetchAfter` the last row;
 *                      dispatcher: LIMIT n+1 and, when the batch ends inside a
 *                      time_of_recording tie group, `fetchTieGroup` - as the relay does)
 *     mark or delete  (`complete`: one `= ANY($1::type[])` statement per batch, autocommit;
 *                      with --transaction wrapped in BEGIN/COMMIT as the relay does)
 *   } until a fetch returns no row
 *
 * The payload bytes are not copied or parsed (their lengths are summed, so the result is
 * checked): this is the floor the relay is measured against, not a relay.
 *
 *   pg_drain CONNINFO outbox|dispatcher mark|delete BATCH_SIZE [--transaction]
 *
 * Prints one line: `pg_drain flavour=… after=… batch=… rows=… bytes=… seconds=…
 * msgs_per_s=… max_rss_kb=… cpu_seconds=…` (cpu: this process, user + system). Exit status 0 on success, 1 on any error.
 *
 * Build: gcc -O2 -o pg_drain pg_drain.c $(pkg-config --cflags --libs libpq)
 */
#include <libpq-fe.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

static PGconn *conn;

static void die(const char *what, PGresult *result) {
    fprintf(stderr, "pg_drain: %s: %s", what, result ? PQresultErrorMessage(result) : PQerrorMessage(conn));
    if (result) PQclear(result);
    PQfinish(conn);
    exit(1);
}

static PGresult *check(PGresult *result, const char *what) {
    ExecStatusType status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) die(what, result);
    return result;
}

static void prepare(const char *name, const char *sql) {
    PQclear(check(PQprepare(conn, name, sql, 0, NULL), name));
}

static double now_seconds(void) {
    struct timespec spec;
    clock_gettime(CLOCK_MONOTONIC, &spec);
    return (double)spec.tv_sec + (double)spec.tv_nsec / 1e9;
}

/* A growable byte buffer for the `{id,id,…}` array literal. */
struct buffer { char *bytes; size_t length, capacity; };

static void append(struct buffer *buffer, const char *bytes, size_t length) {
    if (buffer->length + length + 1 > buffer->capacity) {
        buffer->capacity = (buffer->length + length + 1) * 2;
        buffer->bytes = realloc(buffer->bytes, buffer->capacity);
        if (!buffer->bytes) { fprintf(stderr, "pg_drain: out of memory\n"); exit(1); }
    }
    memcpy(buffer->bytes + buffer->length, bytes, length);
    buffer->length += length;
    buffer->bytes[buffer->length] = 0;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: pg_drain CONNINFO outbox|dispatcher mark|delete BATCH_SIZE [--transaction]\n");
        return 1;
    }
    const char *conninfo = argv[1];
    int dispatcher = strcmp(argv[2], "dispatcher") == 0;
    int delete_rows = strcmp(argv[3], "delete") == 0;
    long limit = atol(argv[4]);
    int transaction = argc > 5 && strcmp(argv[5], "--transaction") == 0;
    if ((!dispatcher && strcmp(argv[2], "outbox") != 0) || (!delete_rows && strcmp(argv[3], "mark") != 0) || limit < 1) {
        fprintf(stderr, "pg_drain: bad arguments\n");
        return 1;
    }

    /* The same statement text PostgresStatements builds for PHP's default tables and columns. */
    const char *fetch_first, *fetch_after, *fetch_tie_group = NULL, *complete;
    if (!dispatcher) {
        fetch_first = "SELECT \"id\", \"payload\"::text FROM \"outbox_messages\" WHERE \"consumed\" = false ORDER BY \"id\" LIMIT $1";
        fetch_after = "SELECT \"id\", \"payload\"::text FROM \"outbox_messages\" WHERE \"consumed\" = false AND \"id\" > $1::bigint ORDER BY \"id\" LIMIT $2";
        complete = delete_rows
            ? "DELETE FROM \"outbox_messages\" WHERE \"id\" = ANY($1::bigint[])"
            : "UPDATE \"outbox_messages\" SET \"consumed\" = true WHERE \"id\" = ANY($1::bigint[]) AND \"consumed\" = false";
    } else {
        fetch_first = "SELECT \"id\", \"payload\"::text, to_char(\"time_of_recording\", 'YYYY-MM-DD HH24:MI:SS.US') FROM \"messages_outbox\" WHERE \"dispatched\" = false ORDER BY \"time_of_recording\", \"id\" LIMIT $1";
        fetch_after = "SELECT \"id\", \"payload\"::text, to_char(\"time_of_recording\", 'YYYY-MM-DD HH24:MI:SS.US') FROM \"messages_outbox\" WHERE \"dispatched\" = false AND \"time_of_recording\" >= $1 AND (\"time_of_recording\", \"id\") > ($1, $2::uuid) ORDER BY \"time_of_recording\", \"id\" LIMIT $3";
        fetch_tie_group = "SELECT \"id\", \"payload\"::text, to_char(\"time_of_recording\", 'YYYY-MM-DD HH24:MI:SS.US') FROM \"messages_outbox\" WHERE \"dispatched\" = false AND \"time_of_recording\" = $1 AND \"id\" > $2::uuid ORDER BY \"id\" LIMIT $3";
        complete = delete_rows
            ? "DELETE FROM \"messages_outbox\" WHERE \"id\" = ANY($1::uuid[])"
            : "UPDATE \"messages_outbox\" SET \"dispatched\" = true, \"time_of_dispatching\" = (now() AT TIME ZONE 'UTC') WHERE \"id\" = ANY($1::uuid[]) AND \"dispatched\" = false";
    }

    /* As the relay does (MemoryAllocator.keepFreedMemory): keep freed batch memory for reuse
     * instead of page-faulting it in again for every batch. */
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);

    double started = now_seconds();
    const char *keywords[] = {"dbname", "fallback_application_name", "client_encoding", NULL};
    const char *values[] = {conninfo, "pg_drain", "UTF8", NULL};
    conn = PQconnectdbParams(keywords, values, 1);
    if (PQstatus(conn) != CONNECTION_OK) die("connect", NULL);
    PQclear(check(PQexec(conn, "SET statement_timeout = 30000"), "SET statement_timeout"));
    prepare("fetch_first", fetch_first);
    prepare("fetch_after", fetch_after);
    if (fetch_tie_group) prepare("fetch_tie_group", fetch_tie_group);
    prepare("complete", complete);

    char tie_limit_text[32], fetch_limit_text[32];
    /* the rest of a tie group: as many rows as the batch, at least 100 (PostgresSource.tieGroupLimit) */
    long tie_limit = limit > 100 ? limit : 100;
    snprintf(tie_limit_text, sizeof tie_limit_text, "%ld", tie_limit);
    /* dispatcher: one row more, to see whether the batch ends inside a tie group */
    snprintf(fetch_limit_text, sizeof fetch_limit_text, "%ld", dispatcher ? limit + 1 : limit);

    struct buffer ids = {0};
    char cursor_id[64] = "", cursor_time[64] = "";
    int have_cursor = 0;
    long long rows = 0, bytes = 0;

    for (;;) {
        PGresult *result;
        if (!have_cursor) {
            const char *params[] = {fetch_limit_text};
            result = check(PQexecPrepared(conn, "fetch_first", 1, params, NULL, NULL, 0), "fetch_first");
        } else if (!dispatcher) {
            const char *params[] = {cursor_id, fetch_limit_text};
            result = check(PQexecPrepared(conn, "fetch_after", 2, params, NULL, NULL, 0), "fetch_after");
        } else {
            const char *params[] = {cursor_time, cursor_id, fetch_limit_text};
            result = check(PQexecPrepared(conn, "fetch_after", 3, params, NULL, NULL, 0), "fetch_after");
        }
        int fetched = PQntuples(result);
        if (fetched == 0) { PQclear(result); break; }
        int count = fetched > limit ? (int)limit : fetched;

        PGresult *rest = NULL;
        int rest_count = 0;
        if (dispatcher && fetched > limit && strcmp(PQgetvalue(result, (int)limit, 2), PQgetvalue(result, count - 1, 2)) == 0) {
            const char *params[] = {PQgetvalue(result, count - 1, 2), PQgetvalue(result, count - 1, 0), tie_limit_text};
            rest = check(PQexecPrepared(conn, "fetch_tie_group", 3, params, NULL, NULL, 0), "fetch_tie_group");
            rest_count = PQntuples(rest);
            if (rest_count > tie_limit) rest_count = (int)tie_limit;
        }

        ids.length = 0;
        append(&ids, "{", 1);
        for (int part = 0; part < 2; part++) {
            PGresult *source = part == 0 ? result : rest;
            int n = part == 0 ? count : rest_count;
            for (int row = 0; row < n; row++) {
                if (ids.length > 1) append(&ids, ",", 1);
                if (dispatcher) append(&ids, "\"", 1);
                append(&ids, PQgetvalue(source, row, 0), (size_t)PQgetlength(source, row, 0));
                if (dispatcher) append(&ids, "\"", 1);
                bytes += PQgetlength(source, row, 1);
            }
            if (n > 0) {
                int last = n - 1;
                snprintf(cursor_id, sizeof cursor_id, "%s", PQgetvalue(source, last, 0));
                if (dispatcher) snprintf(cursor_time, sizeof cursor_time, "%s", PQgetvalue(source, last, 2));
            }
        }
        append(&ids, "}", 1);
        rows += count + rest_count;
        have_cursor = 1;
        PQclear(result);
        if (rest) PQclear(rest);

        if (transaction) PQclear(check(PQexec(conn, "BEGIN"), "BEGIN"));
        const char *params[] = {ids.bytes};
        PQclear(check(PQexecPrepared(conn, "complete", 1, params, NULL, NULL, 0), "complete"));
        if (transaction) PQclear(check(PQexec(conn, "COMMIT"), "COMMIT"));
    }
    double seconds = now_seconds() - started;
    PQfinish(conn);
    free(ids.bytes);

    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    double cpu = (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6
               + (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec / 1e6;
    printf("pg_drain flavour=%s after=%s batch=%ld rows=%lld bytes=%lld seconds=%.6f msgs_per_s=%.0f max_rss_kb=%ld cpu_seconds=%.6f\n",
           dispatcher ? "dispatcher" : "outbox", delete_rows ? "delete" : "mark", limit, rows, bytes, seconds,
           seconds > 0 ? (double)rows / seconds : 0.0, usage.ru_maxrss, cpu);
    return 0;
}
