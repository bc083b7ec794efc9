import CMariaDB

extension MySQLSource {
    /// The version of MariaDB Connector/C this process runs with (`mysql_get_client_info()`),
    /// e.g. `3.3.20`.
    public static var libraryVersion: String {
        String(cString: mysql_get_client_info())
    }
}
