import CMariaDB

/// Connector/C's process-wide set-up, run once before the first `mysql_init` (which is not
/// thread-safe on its own first call).
private let libraryInitialized: Bool = mysql_server_init(0, nil, nil) == 0

/// One Connector/C connection (`MYSQL*`). Not thread-safe: owned by one actor running on a
/// ``DedicatedThreadExecutor``, so every blocking call happens on that thread.
final class MySQLConnection {
    private let handle: UnsafeMutablePointer<MYSQL>
    /// Set once a statement failed because the connection is gone.
    private(set) var isHealthy = true
    /// The largest packet the server accepts from this session (`GREATEST(@@max_allowed_packet,
    /// @@net_buffer_length)`, read on connect). A larger statement makes the server drop the
    /// connection ("server has gone away"), so ``execute(_:)`` refuses it with an error naming
    /// the setting instead of sending it.
    private(set) var maximumPacket = Int.max

    private init(handle: UnsafeMutablePointer<MYSQL>) {
        self.handle = handle
    }

    deinit {
        mysql_close(handle)
    }

    /// Connects (blocking): `utf8mb4`, TLS and timeouts from `url`; the session then reads at
    /// READ COMMITTED with UTC times.
    /// - Parameters:
    ///   - password: overrides the URL's password when set.
    ///   - multiStatements: allow several statements per call (tests loading fixtures only).
    /// - Throws: ``MySQLError`` with code `authenticationFailed`, `connectionFailed` or
    ///   `invalidConfiguration` (TLS files).
    static func connect(
        _ url: MySQLConnectionURL,
        password: String? = nil,
        multiStatements: Bool = false
    ) throws(MySQLError) -> MySQLConnection {
        guard libraryInitialized, let handle = mysql_init(nil) else {
            throw MySQLError(code: .connectionFailed, message: "Connector/C could not allocate a connection")
        }
        let connection = MySQLConnection(handle: handle)
        var connectTimeout = UInt32(clamping: max(1, url.connectTimeout.milliseconds / 1000))
        var readTimeout = UInt32(clamping: max(1, url.readTimeout.milliseconds / 1000))
        var writeTimeout = UInt32(clamping: max(1, url.writeTimeout.milliseconds / 1000))
        mysql_options(handle, MYSQL_OPT_CONNECT_TIMEOUT, &connectTimeout)
        mysql_options(handle, MYSQL_OPT_READ_TIMEOUT, &readTimeout)
        mysql_options(handle, MYSQL_OPT_WRITE_TIMEOUT, &writeTimeout)
        "utf8mb4".withCString { _ = mysql_options(handle, MYSQL_SET_CHARSET_NAME, $0) }
        var off: my_bool = 0
        mysql_options(handle, MYSQL_OPT_RECONNECT, &off)
        if url.tlsMode != .disabled {
            _ = mysql_ssl_set(handle, url.tlsKey, url.tlsCertificate, url.tlsCA, nil, nil)
        }
        var enforce: my_bool = url.tlsMode == .disabled || url.tlsMode == .preferred ? 0 : 1
        var verify: my_bool = url.tlsMode == .verifyCA || url.tlsMode == .verifyIdentity ? 1 : 0
        mysql_options(handle, MYSQL_OPT_SSL_ENFORCE, &enforce)
        mysql_options(handle, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify)

        let flags = UInt(multiStatements ? CLIENT_MULTI_STATEMENTS | CLIENT_MULTI_RESULTS : 0)
        let host = url.socket == nil ? url.host : "localhost"
        let connected = mysql_real_connect(
            handle,
            host,
            url.user,
            password ?? url.password,
            url.database,
            url.socket == nil ? url.port : 0,
            url.socket,
            flags
        )
        guard connected != nil else {
            let number = mysql_errno(handle)
            let message = String(cString: mysql_error(handle))
            let code: MySQLError.Code
            var hint = ""
            switch Int32(number) {
            case ER_ACCESS_DENIED_ERROR, ER_DBACCESS_DENIED_ERROR, ErrorNumber.accessDeniedNoPassword:
                code = .authenticationFailed
                hint = "; check the user and password (source.password: env:VAR or file:PATH)"
            case ER_BAD_DB_ERROR:
                code = .invalidConfiguration
                hint = "; create the database or fix the URL's path"
            default:
                code = .connectionFailed
            }
            throw MySQLError(
                code: code,
                serverCode: number,
                message: "cannot connect to \(url.redacted): \(message)\(hint)"
            )
        }
        try connection.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
        try connection.execute("SET time_zone = '+00:00'")
        if let limit = Int(try connection.scalar("SELECT GREATEST(@@max_allowed_packet, @@net_buffer_length)") ?? "") {
            connection.maximumPacket = limit
        }
        return connection
    }

    /// The server's id of this connection (`CONNECTION_ID()`, the processlist id).
    var threadID: UInt { mysql_thread_id(handle) }

    /// The server's version text, e.g. `10.11.19-MariaDB-0+deb12u1`.
    var serverVersion: String { String(cString: mysql_get_server_info(handle)) }

    /// Rows changed by the last `INSERT`/`UPDATE`/`DELETE`.
    var affectedRows: Int { Int(truncatingIfNeeded: mysql_affected_rows(handle)) }

    /// Runs one statement that returns no rows (or whose rows are discarded).
    /// - Throws: ``MySQLError`` classified from the error number.
    func execute(_ sql: String) throws(MySQLError) {
        try run(sql)
        discardResults()
    }

    /// Runs one statement given as bytes (it may hold raw binary literals, see
    /// ``appendBinaryLiteral(_:to:)``) that returns no rows.
    /// - Throws: ``MySQLError`` classified from the error number.
    func execute(bytes sql: [UInt8]) throws(MySQLError) {
        try checkPacketSize(sql.count)
        let status = sql.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { mysql_real_query(handle, $0.baseAddress, UInt($0.count)) }
        }
        if status != 0 { throw error(for: String(decoding: sql.prefix(120), as: UTF8.self)) }
        discardResults()
    }

    /// Appends `_binary'…'` holding `bytes` escaped by the connection (at most twice their size,
    /// usually about once): no hex text, no `String` copy of a payload.
    func appendBinaryLiteral(_ bytes: [UInt8], to sql: inout [UInt8]) {
        sql.append(contentsOf: "_binary'".utf8)
        let start = sql.count
        sql.append(contentsOf: repeatElement(0, count: bytes.count * 2 + 1))
        let written = bytes.withUnsafeBufferPointer { source in
            sql.withUnsafeMutableBufferPointer { target in
                source.withMemoryRebound(to: CChar.self) { source in
                    target.withMemoryRebound(to: CChar.self) { target in
                        mysql_real_escape_string(
                            handle,
                            target.baseAddress! + start,
                            source.baseAddress,
                            UInt(source.count)
                        )
                    }
                }
            }
        }
        sql.removeLast(sql.count - start - Int(written))
        sql.append(UInt8(ascii: "'"))
    }

    /// Runs one statement and calls `body` for each row of its result.
    /// - Throws: ``MySQLError``, or what `body` throws.
    func query(_ sql: String, _ body: (MySQLRow) throws(MySQLError) -> Void) throws(MySQLError) {
        try run(sql)
        guard let result = mysql_store_result(handle) else {
            if mysql_field_count(handle) > 0 { throw error(for: "reading the result of \(sql.prefix(80))") }
            return
        }
        defer { mysql_free_result(result) }
        let columns = Int(mysql_num_fields(result))
        while let values = mysql_fetch_row(result) {
            guard let lengths = mysql_fetch_lengths(result) else { break }
            try body(MySQLRow(values: values, lengths: lengths, count: columns))
        }
        if mysql_errno(handle) != 0 { throw error(for: "reading the result of \(sql.prefix(80))") }
    }

    /// The first column of the first row as text (`nil` for no row or NULL).
    func scalar(_ sql: String) throws(MySQLError) -> String? {
        var value: String?
        var first = true
        try query(sql) { row in
            if first { value = row.string(0) }
            first = false
        }
        return value
    }

    /// Runs several statements separated by `;` (only on a connection made with
    /// `multiStatements`), discarding their results.
    func executeScript(_ sql: String) throws(MySQLError) {
        try run(sql)
        while true {
            if let result = mysql_store_result(handle) { mysql_free_result(result) }
            let next = mysql_next_result(handle)
            if next > 0 { throw error(for: "a statement of the script") }
            if next != 0 { break }
        }
    }

    /// `'text'` with every special character escaped for this connection's character set.
    func literal(_ text: String) -> String {
        var utf8 = Array(text.utf8)
        return "'" + escaped(&utf8) + "'"
    }

    /// Escapes valid UTF-8 text; the result stays valid UTF-8.
    private func escaped(_ bytes: inout [UInt8]) -> String {
        let capacity = bytes.count * 2 + 1
        return String(unsafeUninitializedCapacity: capacity) { buffer in
            let written = bytes.withUnsafeBufferPointer { source in
                source.withMemoryRebound(to: CChar.self) { source in
                    buffer.withMemoryRebound(to: CChar.self) { target in
                        mysql_real_escape_string(handle, target.baseAddress, source.baseAddress, UInt(source.count))
                    }
                }
            }
            return Int(written)
        }
    }

    private func run(_ sql: String) throws(MySQLError) {
        try checkPacketSize(sql.utf8.count)
        let status = sql.utf8CString.withUnsafeBufferPointer { buffer in
            mysql_real_query(handle, buffer.baseAddress, UInt(buffer.count - 1))
        }
        if status != 0 { throw error(for: String(sql.prefix(120))) }
    }

    /// Throws `packetTooLarge` for a statement the server would refuse (one command byte plus
    /// the statement must fit ``maximumPacket``).
    private func checkPacketSize(_ statementBytes: Int) throws(MySQLError) {
        guard statementBytes >= maximumPacket else { return }
        throw Self.packetTooLarge(
            serverCode: nil,
            "a statement of \(statementBytes) bytes does not fit the server's max_allowed_packet "
                + "(\(maximumPacket) bytes)"
        )
    }

    private static func packetTooLarge(serverCode: UInt32?, _ problem: String) -> MySQLError {
        MySQLError(
            code: .packetTooLarge,
            serverCode: serverCode,
            message:
                "\(problem): a row or statement is larger than the server's max_allowed_packet; "
                + "raise it (SET GLOBAL max_allowed_packet = 67108864, and in the server's config) "
                + "or lower source.batch_size and source.max_payload_bytes"
        )
    }

    private func discardResults() {
        if let result = mysql_store_result(handle) { mysql_free_result(result) }
    }

    /// Classifies the connection's current error; marks the connection unhealthy when it is gone.
    private func error(for statement: String) -> MySQLError {
        let number = mysql_errno(handle)
        let message = String(cString: mysql_error(handle))
        let code: MySQLError.Code
        switch Int32(number) {
        case CR_SERVER_GONE_ERROR, CR_SERVER_LOST, CR_CONNECTION_ERROR, CR_CONN_HOST_ERROR, CR_COMMANDS_OUT_OF_SYNC,
            ER_SERVER_SHUTDOWN, ErrorNumber.connectionKilled, ErrorNumber.disconnectedByServer,
            ErrorNumber.tlsConnectionFailed:
            code = .connectionLost
            isHealthy = false
        case ER_NO_SUCH_TABLE: code = .missingTable
        case ER_BAD_FIELD_ERROR: code = .missingColumn
        case ER_TABLEACCESS_DENIED_ERROR, ER_COLUMNACCESS_DENIED_ERROR, ER_SPECIFIC_ACCESS_DENIED_ERROR,
            ER_DBACCESS_DENIED_ERROR:
            code = .permissionDenied
        case ER_NET_PACKET_TOO_LARGE, CR_NET_PACKET_TOO_LARGE:
            return Self.packetTooLarge(serverCode: number, message)
        case 0:
            return MySQLError(code: .unexpectedResult, message: "\(statement) failed without an error from the server")
        default:
            code = .queryFailed
        }
        return MySQLError(code: code, serverCode: number, message: message)
    }
}

/// Error numbers that Connector/C's headers do not name (MariaDB- or MySQL 8-only).
private enum ErrorNumber {
    /// `ER_ACCESS_DENIED_NO_PASSWORD_ERROR` (unix_socket/auth plugin refusals).
    static let accessDeniedNoPassword: Int32 = 1698
    /// MariaDB's `ER_CONNECTION_KILLED`: the session was `KILL`ed.
    static let connectionKilled: Int32 = 1927
    /// MySQL 8's `ER_CLIENT_INTERACTION_TIMEOUT`: the server closed an idle connection.
    static let disconnectedByServer: Int32 = 4031
    /// `CR_SSL_CONNECTION_ERROR`.
    static let tlsConnectionFailed: Int32 = 2026
}

/// One row of a result, valid only inside the ``MySQLConnection/query(_:_:)`` callback.
struct MySQLRow {
    let values: MYSQL_ROW
    let lengths: UnsafeMutablePointer<UInt>
    let count: Int

    func isNull(_ column: Int) -> Bool { values[column] == nil }

    /// The value as text, `nil` for SQL NULL.
    func string(_ column: Int) -> String? {
        guard let value = values[column] else { return nil }
        return value.withMemoryRebound(to: UInt8.self, capacity: Int(lengths[column])) {
            String(decoding: UnsafeBufferPointer(start: $0, count: Int(lengths[column])), as: UTF8.self)
        }
    }

    /// The value's bytes, copied once (`[]` for NULL).
    func bytes(_ column: Int) -> [UInt8] {
        guard let value = values[column] else { return [] }
        return value.withMemoryRebound(to: UInt8.self, capacity: Int(lengths[column])) {
            Array(UnsafeBufferPointer(start: $0, count: Int(lengths[column])))
        }
    }

    /// A decimal integer, parsed without creating a `String`; `nil` for NULL or out of range.
    func int64(_ column: Int) -> Int64? {
        guard let value = values[column] else { return nil }
        let length = Int(lengths[column])
        return value.withMemoryRebound(to: UInt8.self, capacity: length) { pointer -> Int64? in
            guard length > 0, length <= 19 else { return length > 0 ? Int64(string(column)!) : nil }
            var result: Int64 = 0
            var index = 0
            let negative = pointer[0] == UInt8(ascii: "-")
            if negative { index = 1 }
            guard index < length else { return nil }
            while index < length {
                let digit = pointer[index] &- 48
                guard digit < 10 else { return nil }
                result = result * 10 + Int64(digit)
                index += 1
            }
            return negative ? -result : result
        }
    }
}
