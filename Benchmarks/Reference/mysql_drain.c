/*
 * mysql_drain: the physical limit for draining an EventSauce outbox table through MariaDB
 * Connector/C (libmariadb).
 *
 * Runs the SQL that OutboxMySQL's MySQLSource runs for PHP's default tables and
 * columns (see Sources/OutboxMySQL/Internal/MySQLStatements.swift and MySQLSource.swift):
 * text statements with escaped literals, results stored client-side, one connection, the
 * session at READ COMMITTED in UTC with utf8mb4, and nothing else:
 *
 *   loop {
 *     fetch a batch   (`outbox`: ... AND `id` > last ORDER BY `id` LIMIT n;
 *                      `dispatcher`: first the time_of_recording n rows on in index order
 *                      (LIMIT 1 OFFSET n), then ... AND `time_of_recording` <= it
 *                      ORDER BY `time_of_recording`, `id` LIMIT n+1 and, when the batch ends
 *                      inside a time_of_recording tie group, the rest of the group
 *                      (LIMIT max(n, 100)) - as the source does)
 *     mark or delete  (`IN (...)` lists of at most 1000 ids, for `dispatcher` with the ids'
 *                      time_of_recording range in front; a batch that fits one list is one
 *                      autocommitted statement, a larger one START TRANSACTION ... COMMIT)
 *   } until a fetch returns no row
 *
 * The relay's reads also bound the bytes of a batch (a running sum of LENGTH(payload) in a window
 * over the LIMITed rows) and leave oversized payloads on the server; this program reads the
 * plain rows, so it is the stricter floor.
 *
 * The payload bytes are not copied or parsed (their lengths are summed, so the result is
 * checked): this is the floor the relay is measured against, not a relay.
 *
 *   mysql_drain mysql://USER:PASSWORD@HOST:PORT/DATABASE outbox|dispatcher mark|delete BATCH_SIZE
 *
 * Prints one line: `mysql_drain flavour=... after=... batch=... rows=... bytes=... seconds=...
 * msgs_per_s=... max_rss_kb=... cpu_seconds=...` (cpu: this process, user + system). Exit
 * status 0 on success, 1 on any error.
 *
 * Build: gcc -O2 -o mysql_drain mysql_drain.c $(pkg-config --cflags --libs libmariadb)
 */
#include <mysql.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#define CHUNK 1000 /* MySQLSource.Configuration.completeChunkSize */

static MYSQL *conn;

static void die(const char *what) {
    fprintf(stderr, "mysql_drain: %s: %s\n", what, mysql_error(conn));
    mysql_close(conn);
    exit(1);
}

static double now_seconds(void) {
    struct timespec spec;
    clock_gettime(CLOCK_MONOTONIC, &spec);
    return (double)spec.tv_sec + (double)spec.tv_nsec / 1e9;
}

/* A growable statement buffer. */
struct buffer { char *bytes; size_t length, capacity; };

static void reserve(struct buffer *buffer, size_t more) {
    if (buffer->length + more + 1 > buffer->capacity) {
        buffer->capacity = (buffer->length + more + 1) * 2;
        buffer->bytes = realloc(buffer->bytes, buffer->capacity);
        if (!buffer->bytes) { fprintf(stderr, "mysql_drain: out of memory\n"); exit(1); }
    }
}

static void append(struct buffer *buffer, const char *bytes, size_t length) {
    reserve(buffer, length);
    memcpy(buffer->bytes + buffer->length, bytes, length);
    buffer->length += length;
    buffer->bytes[buffer->length] = 0;
}

static void append_text(struct buffer *buffer, const char *text) { append(buffer, text, strlen(text)); }

/* 'text' escaped for the connection's character set, as MySQLConnection.literal does. */
static void append_literal(struct buffer *buffer, const char *text, size_t length) {
    reserve(buffer, length * 2 + 3);
    buffer->bytes[buffer->length++] = '\'';
    buffer->length += mysql_real_escape_string(conn, buffer->bytes + buffer->length, text, length);
    buffer->bytes[buffer->length++] = '\'';
    buffer->bytes[buffer->length] = 0;
}

static void execute(struct buffer *sql, const char *what) {
    if (mysql_real_query(conn, sql->bytes, sql->length) != 0) die(what);
    MYSQL_RES *result = mysql_store_result(conn);
    if (result) mysql_free_result(result);
}

static void execute_text(const char *sql) {
    if (mysql_real_query(conn, sql, strlen(sql)) != 0) die(sql);
    MYSQL_RES *result = mysql_store_result(conn);
    if (result) mysql_free_result(result);
}

static MYSQL_RES *query(struct buffer *sql, const char *what) {
    if (mysql_real_query(conn, sql->bytes, sql->length) != 0) die(what);
    MYSQL_RES *result = mysql_store_result(conn);
    if (!result) die(what);
    return result;
}

/* One fetched row: what the completion and the cursor need (pointers into its result). */
struct row { const char *id, *time; unsigned long id_length, time_length; };

static void percent_decode(char *text) {
    char *out = text;
    for (char *in = text; *in; in++) {
        if (in[0] == '%' && in[1] && in[2]) {
            char hex[3] = {in[1], in[2], 0};
            *out++ = (char)strtol(hex, NULL, 16);
            in += 2;
        } else {
            *out++ = *in;
        }
    }
    *out = 0;
}

/* Orders two rows' time_of_recording texts (fixed-width 'YYYY-MM-DD HH:MM:SS.ffffff'). */
static int compare_time(const struct row *a, const struct row *b) {
    unsigned long n = a->time_length < b->time_length ? a->time_length : b->time_length;
    int order = memcmp(a->time, b->time, n);
    if (order != 0) return order;
    return a->time_length < b->time_length ? -1 : a->time_length > b->time_length;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: mysql_drain mysql://USER:PASSWORD@HOST:PORT/DATABASE outbox|dispatcher mark|delete BATCH_SIZE\n");
        return 1;
    }
    int dispatcher = strcmp(argv[2], "dispatcher") == 0;
    int delete_rows = strcmp(argv[3], "delete") == 0;
    long limit = atol(argv[4]);
    if ((!dispatcher && strcmp(argv[2], "outbox") != 0) || (!delete_rows && strcmp(argv[3], "mark") != 0) || limit < 1) {
        fprintf(stderr, "mysql_drain: bad arguments\n");
        return 1;
    }

    /* mysql://user:password@host:port/database (no query parameters) */
    char *url = strdup(argv[1]);
    char *rest = strstr(url, "://");
    if (!rest) { fprintf(stderr, "mysql_drain: not a mysql:// URL\n"); return 1; }
    rest += 3;
    char *user = NULL, *password = NULL, *host = rest, *database = NULL;
    unsigned int port = 3306;
    char *at = strrchr(rest, '@');
    if (at) {
        *at = 0;
        user = rest;
        host = at + 1;
        char *colon = strchr(user, ':');
        if (colon) { *colon = 0; password = colon + 1; percent_decode(password); }
        percent_decode(user);
    }
    char *slash = strchr(host, '/');
    if (slash) { *slash = 0; database = slash + 1; char *q = strchr(database, '?'); if (q) *q = 0; }
    char *colon = strrchr(host, ':');
    if (colon) { *colon = 0; port = (unsigned int)atoi(colon + 1); }

    /* As the relay does (MemoryAllocator.keepFreedMemory): keep freed batch memory for reuse. */
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);

    /* The same statement text MySQLStatements builds for PHP's default tables and columns. */
    const char *select, *order, *complete_prefix, *complete_suffix;
    if (!dispatcher) {
        select = "SELECT `id`, `payload` FROM `outbox_messages` WHERE `consumed` = 0";
        order = " ORDER BY `id`";
        complete_prefix = delete_rows ? "DELETE FROM `outbox_messages` WHERE `id` IN ("
                                      : "UPDATE `outbox_messages` SET `consumed` = 1 WHERE `id` IN (";
        complete_suffix = delete_rows ? ")" : ") AND `consumed` = 0";
    } else {
        select = "SELECT `id`, `payload`, DATE_FORMAT(`time_of_recording`, '%Y-%m-%d %H:%i:%s.%f') "
                 "FROM `messages_outbox` WHERE `dispatched` = 0";
        order = " ORDER BY `time_of_recording`, `id`";
        complete_prefix = delete_rows ? "DELETE FROM `messages_outbox` WHERE `id` IN ("
                                      : "UPDATE `messages_outbox` SET `dispatched` = 1, "
                                        "`time_of_dispatching` = UTC_TIMESTAMP(6) WHERE `id` IN (";
        complete_suffix = delete_rows ? ")" : ") AND `dispatched` = 0";
        /* MySQLStatements.completeInTimeRangePrefix: the chunk's time range, which the
           (dispatched, time_of_recording) index serves (messages_outbox has no index on id). */
        complete_prefix = delete_rows ? "DELETE FROM `messages_outbox` WHERE `dispatched` IN (0, 1) AND "
                                        "`time_of_recording` BETWEEN "
                                      : "UPDATE `messages_outbox` SET `dispatched` = 1, "
                                        "`time_of_dispatching` = UTC_TIMESTAMP(6) WHERE `dispatched` = 0 AND "
                                        "`time_of_recording` BETWEEN ";
    }

    double started = now_seconds();
    conn = mysql_init(NULL);
    if (!conn) { fprintf(stderr, "mysql_drain: mysql_init failed\n"); return 1; }
    mysql_options(conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (!mysql_real_connect(conn, host, user, password, database, port, NULL, 0)) die("connect");
    execute_text("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED");
    execute_text("SET time_zone = '+00:00'");

    long tie_limit = limit > 100 ? limit : 100; /* MySQLSource.tieGroupLimit */
    struct buffer sql = {0}, ids = {0};
    struct row *rows_of_batch = malloc(sizeof(struct row) * (size_t)(limit + tie_limit + 1));
    char *cursor_id = NULL, *cursor_time = NULL;
    unsigned long cursor_id_length = 0, cursor_time_length = 0;
    long long rows = 0, bytes = 0;

    char bound[64];
    for (;;) {
        char number[64];
        /* MySQLStatements.readUpperBound: bound the read so the server sorts about a batch. */
        unsigned long bound_length = 0;
        if (dispatcher) {
            sql.length = 0;
            append_text(&sql, "SELECT DATE_FORMAT(`time_of_recording`, '%Y-%m-%d %H:%i:%s.%f') FROM `messages_outbox` "
                              "WHERE `dispatched` = 0");
            if (cursor_id) {
                append_text(&sql, " AND `time_of_recording` > ");
                append_literal(&sql, cursor_time, cursor_time_length);
            }
            append_text(&sql, " ORDER BY `time_of_recording` LIMIT 1");
            snprintf(number, sizeof number, " OFFSET %ld", limit);
            append_text(&sql, number);
            MYSQL_RES *bound_result = query(&sql, "fetch bound");
            MYSQL_ROW bound_row = mysql_fetch_row(bound_result);
            if (bound_row && bound_row[0]) {
                bound_length = mysql_fetch_lengths(bound_result)[0];
                if (bound_length >= sizeof bound) bound_length = sizeof bound - 1;
                memcpy(bound, bound_row[0], bound_length);
            }
            mysql_free_result(bound_result);
        }
        sql.length = 0;
        append_text(&sql, select);
        if (cursor_id && !dispatcher) {
            append_text(&sql, " AND `id` > ");
            append(&sql, cursor_id, cursor_id_length);
        } else if (cursor_id) {
            append_text(&sql, " AND `time_of_recording` >= ");
            append_literal(&sql, cursor_time, cursor_time_length);
            append_text(&sql, " AND (`time_of_recording` > ");
            append_literal(&sql, cursor_time, cursor_time_length);
            append_text(&sql, " OR (`time_of_recording` = ");
            append_literal(&sql, cursor_time, cursor_time_length);
            append_text(&sql, " AND `id` > ");
            append_literal(&sql, cursor_id, cursor_id_length);
            append_text(&sql, "))");
        }
        if (bound_length > 0) {
            append_text(&sql, " AND `time_of_recording` <= ");
            append_literal(&sql, bound, bound_length);
        }
        append_text(&sql, order);
        snprintf(number, sizeof number, " LIMIT %ld", dispatcher ? limit + 1 : limit);
        append_text(&sql, number);
        MYSQL_RES *result = query(&sql, "fetch");
        MYSQL_RES *rest_result = NULL;
        long count = 0;
        int ends_in_tie_group = 0;
        MYSQL_ROW values;
        while ((values = mysql_fetch_row(result))) {
            unsigned long *lengths = mysql_fetch_lengths(result);
            if (count == limit) {
                struct row *last = &rows_of_batch[count - 1];
                ends_in_tie_group = lengths[2] == last->time_length && memcmp(values[2], last->time, lengths[2]) == 0;
                break;
            }
            struct row *row = &rows_of_batch[count++];
            row->id = values[0];
            row->id_length = lengths[0];
            row->time = dispatcher ? values[2] : NULL;
            row->time_length = dispatcher ? lengths[2] : 0;
            bytes += (long long)lengths[1];
        }
        if (count == 0) { mysql_free_result(result); break; }
        if (ends_in_tie_group) {
            struct row *last = &rows_of_batch[count - 1];
            sql.length = 0;
            append_text(&sql, select);
            append_text(&sql, " AND `time_of_recording` = ");
            append_literal(&sql, last->time, last->time_length);
            append_text(&sql, " AND `id` > ");
            append_literal(&sql, last->id, last->id_length);
            snprintf(number, sizeof number, " ORDER BY `id` LIMIT %ld", tie_limit);
            append_text(&sql, number);
            rest_result = query(&sql, "fetch tie group");
            while ((values = mysql_fetch_row(rest_result))) {
                unsigned long *lengths = mysql_fetch_lengths(rest_result);
                struct row *row = &rows_of_batch[count++];
                row->id = values[0];
                row->id_length = lengths[0];
                row->time = values[2];
                row->time_length = lengths[2];
                bytes += (long long)lengths[1];
            }
        }

        /* Mark or delete: one statement per CHUNK ids, in a transaction when more than one. */
        int transaction = count > CHUNK;
        if (transaction) execute_text("START TRANSACTION");
        for (long start = 0; start < count; start += CHUNK) {
            long end = start + CHUNK < count ? start + CHUNK : count;
            ids.length = 0;
            append_text(&ids, complete_prefix);
            if (dispatcher) {
                struct row *lowest = &rows_of_batch[start], *highest = &rows_of_batch[start];
                for (long index = start + 1; index < end; index++) {
                    struct row *row = &rows_of_batch[index];
                    if (compare_time(row, lowest) < 0) lowest = row;
                    if (compare_time(row, highest) > 0) highest = row;
                }
                append_literal(&ids, lowest->time, lowest->time_length);
                append_text(&ids, " AND ");
                append_literal(&ids, highest->time, highest->time_length);
                append_text(&ids, " AND `id` IN (");
            }
            for (long index = start; index < end; index++) {
                if (index > start) append(&ids, ",", 1);
                if (dispatcher) append_literal(&ids, rows_of_batch[index].id, rows_of_batch[index].id_length);
                else append(&ids, rows_of_batch[index].id, rows_of_batch[index].id_length);
            }
            append_text(&ids, complete_suffix);
            execute(&ids, "complete");
        }
        if (transaction) execute_text("COMMIT");

        struct row *last = &rows_of_batch[count - 1];
        cursor_id = realloc(cursor_id, last->id_length + 1);
        memcpy(cursor_id, last->id, last->id_length);
        cursor_id_length = last->id_length;
        if (dispatcher) {
            cursor_time = realloc(cursor_time, last->time_length + 1);
            memcpy(cursor_time, last->time, last->time_length);
            cursor_time_length = last->time_length;
        }
        rows += count;
        mysql_free_result(result);
        if (rest_result) mysql_free_result(rest_result);
    }
    double seconds = now_seconds() - started;
    mysql_close(conn);

    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    double cpu = (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6
               + (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec / 1e6;
    printf("mysql_drain flavour=%s after=%s batch=%ld rows=%lld bytes=%lld seconds=%.6f msgs_per_s=%.0f max_rss_kb=%ld cpu_seconds=%.6f\n",
           dispatcher ? "dispatcher" : "outbox", delete_rows ? "delete" : "mark", limit, rows, bytes, seconds,
           seconds > 0 ? (double)rows / seconds : 0.0, usage.ru_maxrss, cpu);
    return 0;
}
