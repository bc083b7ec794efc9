#pragma once
#include <sqlite3.h>

/// SQLITE_TRANSIENT and SQLITE_STATIC are casts of integers to function pointers, which
/// Swift cannot import. These typed shims bind values with SQLITE_TRANSIENT (SQLite copies
/// the bytes before returning), so Swift buffers only need to live for the call.

static inline int csqlite_bind_text_transient(sqlite3_stmt *statement, int index, const char *text, int length) {
    return sqlite3_bind_text(statement, index, text, length, SQLITE_TRANSIENT);
}

static inline int csqlite_bind_blob_transient(sqlite3_stmt *statement, int index, const void *bytes, int length) {
    return sqlite3_bind_blob(statement, index, bytes, length, SQLITE_TRANSIENT);
}
