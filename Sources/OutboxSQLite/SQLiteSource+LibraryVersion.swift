import CSQLite

extension SQLiteSource {
    /// The version of the SQLite library this process runs with (`sqlite3_libversion()`), e.g. `3.40.1`.
    public static var libraryVersion: String { String(cString: sqlite3_libversion()) }
}
