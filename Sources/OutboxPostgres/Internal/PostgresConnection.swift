import CLibPQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One libpq connection (`PGconn*`). Not thread-safe: owned by one actor running on a
/// ``DedicatedThreadExecutor``, so every blocking libpq call happens on that thread.
final class PostgresConnection {
    private let handle: OpaquePointer
    /// Names of the statements prepared on this connection.
    private(set) var preparedStatements: Set<String> = []

    private init(handle: OpaquePointer) {
        self.handle = handle
    }

    deinit {
        PQfinish(handle)
    }

    /// Connects (blocking) with `conninfo` (URI or key=value; `PG*` variables fill the gaps).
    /// - Throws: ``PostgresError`` with code `authenticationFailed` or `connectionFailed`.
    static func connect(
        _ connection: PostgresConnectionString,
        applicationName: String
    ) throws(PostgresError) -> PostgresConnection {
        let keywords = ["dbname", "fallback_application_name", "client_encoding"]
        let values = [connection.conninfo, applicationName, "UTF8"]
        let handle: OpaquePointer? = withCStringArray(keywords) { keywordPointers in
            withCStringArray(values) { valuePointers in
                PQconnectdbParams(keywordPointers, valuePointers, 1)
            }
        }
        guard let handle else {
            throw PostgresError(code: .connectionFailed, message: "libpq could not allocate a connection")
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(handle)).withoutServerDetail
            PQfinish(handle)
            let lower = message.lowercased()
            let isAuthentication =
                lower.contains("password authentication failed") || lower.contains("authentication failed")
                || lower.contains("no password supplied") || lower.contains("no pg_hba.conf entry")
                || lower.contains("role \"")
            let server = connection.redacted.isEmpty ? "the server from PG* environment variables" : connection.redacted
            throw PostgresError(
                code: isAuthentication ? .authenticationFailed : .connectionFailed,
                message: "cannot connect to \(server): \(message)"
            )
        }
        return PostgresConnection(handle: handle)
    }

    /// A connection for a relay: `configuration`'s server and application name, with its
    /// statement timeout set.
    /// - Throws: ``PostgresError`` as ``connect(_:applicationName:)``, or if the timeout is refused.
    static func session(for configuration: PostgresSource.Configuration) throws(PostgresError) -> PostgresConnection {
        let connection = try connect(configuration.connection, applicationName: configuration.applicationName)
        if let timeout = configuration.statementTimeout {
            try connection.execute("SET statement_timeout = \(max(1, timeout.milliseconds))")
        }
        return connection
    }

    /// Whether libpq still considers the connection usable.
    var isHealthy: Bool { PQstatus(handle) == CONNECTION_OK }

    /// The server process id serving this connection.
    var backendPID: Int32 { PQbackendPID(handle) }

    /// The socket, for `poll()`.
    var socket: Int32 { PQsocket(handle) }

    /// Runs one or more statements with the simple-query protocol (no parameters).
    /// - Throws: ``PostgresError`` classified from SQLSTATE and connection state.
    @discardableResult
    func execute(_ sql: String) throws(PostgresError) -> PostgresResult {
        let result = sql.withCString { PQexec(handle, $0) }
        return try check(result, sql: sql)
    }

    /// Runs one statement with text parameters (`nil` is SQL NULL) and text results.
    /// - Throws: ``PostgresError``.
    @discardableResult
    func execute(_ sql: String, _ parameters: [String?]) throws(PostgresError) -> PostgresResult {
        let result = withParameterPointers(parameters) { count, values in
            sql.withCString { PQexecParams(handle, $0, count, nil, values, nil, nil, 0) }
        }
        return try check(result, sql: sql)
    }

    /// Prepares `sql` as `name` unless already prepared on this connection.
    /// - Throws: ``PostgresError``.
    func prepare(_ name: String, _ sql: String) throws(PostgresError) {
        guard !preparedStatements.contains(name) else { return }
        let result = name.withCString { namePointer in
            sql.withCString { PQprepare(handle, namePointer, $0, 0, nil) }
        }
        _ = try check(result, sql: sql)
        preparedStatements.insert(name)
    }

    /// Runs a prepared statement with text parameters and text results.
    /// - Throws: ``PostgresError``.
    @discardableResult
    func executePrepared(_ name: String, _ parameters: [String?]) throws(PostgresError) -> PostgresResult {
        let result = withParameterPointers(parameters) { count, values in
            name.withCString { PQexecPrepared(handle, $0, count, values, nil, nil, 0) }
        }
        return try check(result, sql: "prepared statement \(name)")
    }

    /// Runs a prepared statement with text parameters and, at `binaryIndex` (0-based), `bytes`
    /// in binary format: libpq sends them straight from the array, with no hex text or C-string
    /// copy (a dead letter's payload may be megabytes).
    /// - Throws: ``PostgresError``.
    @discardableResult
    func executePrepared(
        _ name: String,
        _ parameters: [String?],
        binary bytes: [UInt8],
        at binaryIndex: Int
    ) throws(PostgresError) -> PostgresResult {
        let count = Int32(parameters.count)
        var formats = [Int32](repeating: 0, count: parameters.count)
        var lengths = [Int32](repeating: 0, count: parameters.count)
        formats[binaryIndex] = 1
        lengths[binaryIndex] = Int32(clamping: bytes.count)
        let result = withParameterPointers(parameters) { _, values in
            bytes.withUnsafeBufferPointer { buffer in
                // A non-NULL pointer even for no bytes: NULL would send SQL NULL.
                withUnsafePointer(to: UInt8(0)) { empty in
                    let base = UnsafeRawPointer(buffer.baseAddress ?? empty).assumingMemoryBound(to: CChar.self)
                    var pointers = (0..<parameters.count).map { values?[$0] }
                    pointers[binaryIndex] = base
                    return name.withCString { PQexecPrepared(handle, $0, count, pointers, lengths, formats, 0) }
                }
            }
        }
        return try check(result, sql: "prepared statement \(name)")
    }

    /// Reads what arrived on the socket without blocking.
    /// - Throws: ``PostgresError`` (`connectionLost`) when the connection broke.
    func consumeInput() throws(PostgresError) {
        if PQconsumeInput(handle) == 0 {
            throw PostgresError(
                code: .connectionLost,
                message: String(cString: PQerrorMessage(handle)).withoutServerDetail
            )
        }
    }

    /// Removes and returns the channel names of the notifications received so far.
    func takeNotifications() -> [String] {
        var channels: [String] = []
        while let notification = PQnotifies(handle) {
            channels.append(String(cString: notification.pointee.relname))
            PQfreemem(notification)
        }
        return channels
    }

    private func check(_ result: OpaquePointer?, sql: String) throws(PostgresError) -> PostgresResult {
        guard let result else {
            throw PostgresError(
                code: isHealthy ? .queryFailed : .connectionLost,
                message: String(cString: PQerrorMessage(handle)).withoutServerDetail
            )
        }
        let wrapped = PostgresResult(result)
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return wrapped
        default:
            throw classify(wrapped)
        }
    }

    private func classify(_ result: PostgresResult) -> PostgresError {
        let sqlState = result.errorField(Int32(UInt8(ascii: "C")))
        var message = result.errorMessage
        if message.isEmpty { message = String(cString: PQerrorMessage(handle)).withoutServerDetail }
        let code: PostgresError.Code
        switch sqlState {
        case _ where !isHealthy: code = .connectionLost
        case let state? where state.hasPrefix("08") || state == "57P01" || state == "57P02" || state == "57P03":
            code = .connectionLost
        case let state? where state.hasPrefix("28"): code = .authenticationFailed
        case "57014"?: code = .statementTimeout
        case "42501"?: code = .permissionDenied
        case "42P01"?: code = .missingTable
        case "42703"?: code = .missingColumn
        case nil: code = isHealthy ? .queryFailed : .connectionLost
        default: code = .queryFailed
        }
        return PostgresError(code: code, sqlState: sqlState, message: message)
    }
}

/// A `PGresult*`, cleared when released.
final class PostgresResult {
    let handle: OpaquePointer

    init(_ handle: OpaquePointer) {
        self.handle = handle
    }

    deinit {
        PQclear(handle)
    }

    var rowCount: Int { Int(PQntuples(handle)) }

    /// Rows affected by an `INSERT`/`UPDATE`/`DELETE`.
    var affectedRows: Int { Int(String(cString: PQcmdTuples(handle))) ?? 0 }

    func isNull(_ row: Int, _ column: Int) -> Bool {
        PQgetisnull(handle, Int32(row), Int32(column)) != 0
    }

    /// The value as text, `nil` for SQL NULL.
    func string(_ row: Int, _ column: Int) -> String? {
        guard !isNull(row, column), let value = PQgetvalue(handle, Int32(row), Int32(column)) else { return nil }
        let length = Int(PQgetlength(handle, Int32(row), Int32(column)))
        return value.withMemoryRebound(to: UInt8.self, capacity: length) { pointer in
            String(decoding: UnsafeBufferPointer(start: pointer, count: length), as: UTF8.self)
        }
    }

    /// The value's bytes (text format), copied once.
    func bytes(_ row: Int, _ column: Int) -> [UInt8] {
        let length = Int(PQgetlength(handle, Int32(row), Int32(column)))
        guard length > 0, let value = PQgetvalue(handle, Int32(row), Int32(column)) else { return [] }
        return value.withMemoryRebound(to: UInt8.self, capacity: length) { pointer in
            Array(UnsafeBufferPointer(start: pointer, count: length))
        }
    }

    /// A text-format integer, parsed without creating a `String`.
    func int64(_ row: Int, _ column: Int) -> Int64? {
        guard !isNull(row, column), let value = PQgetvalue(handle, Int32(row), Int32(column)) else { return nil }
        let length = Int(PQgetlength(handle, Int32(row), Int32(column)))
        return value.withMemoryRebound(to: UInt8.self, capacity: length) { pointer -> Int64? in
            var index = 0
            var negative = false
            if length > 0 && pointer[0] == UInt8(ascii: "-") {
                negative = true
                index = 1
            }
            guard index < length else { return nil }
            var magnitude: UInt64 = 0
            while index < length {
                let digit = pointer[index] &- 48
                guard digit < 10 else { return nil }
                let (times, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times.addingReportingOverflow(UInt64(digit))
                guard !overflow1, !overflow2 else { return nil }
                magnitude = sum
                index += 1
            }
            if negative {
                guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
                return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
            }
            guard magnitude <= UInt64(Int64.max) else { return nil }
            return Int64(magnitude)
        }
    }

    /// The error's severity and primary message, without `DETAIL:` (which quotes row data,
    /// e.g. `Failing row contains (…)`, and so never goes into errors or logs).
    var errorMessage: String {
        if let primary = errorField(Int32(UInt8(ascii: "M"))) {
            let severity = errorField(Int32(UInt8(ascii: "S"))) ?? "ERROR"
            return "\(severity):  \(primary)"
        }
        return String(cString: PQresultErrorMessage(handle)).withoutServerDetail
    }

    func errorField(_ field: Int32) -> String? {
        guard let value = PQresultErrorField(handle, field) else { return nil }
        return String(cString: value)
    }
}

extension String {
    /// libpq error text cut before its `DETAIL:` line (row data the server quotes), trimmed.
    var withoutServerDetail: String {
        guard let range = firstRange(of: "\nDETAIL:") else { return trimmingTrailingWhitespace }
        return String(self[..<range.lowerBound]).trimmingTrailingWhitespace
    }

    var trimmingTrailingWhitespace: String {
        var text = Substring(self)
        while let last = text.last, last.isWhitespace { text.removeLast() }
        return String(text)
    }
}

/// Calls `body` with a NULL-terminated array of C strings that live for the call.
private func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let duplicates = strings.map { strdup($0) }
    defer { for duplicate in duplicates { free(duplicate) } }
    var pointers: [UnsafePointer<CChar>?] = duplicates.map { UnsafePointer($0) }
    pointers.append(nil)
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// Calls `body` with parameter values as C strings (NULL for SQL NULL) that live for the call.
private func withParameterPointers<R>(
    _ parameters: [String?],
    _ body: (Int32, UnsafePointer<UnsafePointer<CChar>?>?) -> R
) -> R {
    guard !parameters.isEmpty else { return body(0, nil) }
    let duplicates: [UnsafeMutablePointer<CChar>?] = parameters.map { $0.map { strdup($0) } ?? nil }
    defer { for duplicate in duplicates { free(duplicate) } }
    let pointers: [UnsafePointer<CChar>?] = duplicates.map { $0.map { UnsafePointer($0) } }
    return pointers.withUnsafeBufferPointer { body(Int32(parameters.count), $0.baseAddress) }
}
