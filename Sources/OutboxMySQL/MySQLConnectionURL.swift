/// Where and how to connect to MySQL or MariaDB, parsed from a `mysql://` or `mariadb://` URL.
///
/// ```text
/// mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE?socket=/run/mysqld/mysqld.sock&ssl-mode=VERIFY_IDENTITY
///     &ssl-ca=/etc/ssl/ca.pem&ssl-cert=…&ssl-key=…&connect-timeout=10s&read-timeout=60s&write-timeout=60s
/// ```
///
/// User, password and database are percent-decoded. The password may also come from
/// ``password`` set separately (the CLI's `source.password: env:VAR|file:PATH`), which wins
/// over one in the URL; ``redacted`` and ``description`` never show it. The character set is
/// always `utf8mb4`.
///
/// **TLS.** `ssl-mode` is `DISABLED`, `PREFERRED`, `REQUIRED`, `VERIFY_CA` or `VERIFY_IDENTITY`
/// (case-insensitive, `-` or `_`). The default is `VERIFY_IDENTITY`, except for Unix sockets and
/// loopback hosts (`localhost`, `127.0.0.1`, `::1`), where it is `DISABLED`. Connector/C checks
/// the host name whenever it verifies the certificate, so `VERIFY_CA` behaves as
/// `VERIFY_IDENTITY`; `PREFERRED` uses TLS when the server offers it, without verification.
public struct MySQLConnectionURL: Sendable, Hashable, CustomStringConvertible {
    /// How strictly the connection uses and verifies TLS.
    public enum TLSMode: String, Sendable, Hashable, CaseIterable {
        case disabled = "DISABLED"
        case preferred = "PREFERRED"
        case required = "REQUIRED"
        case verifyCA = "VERIFY_CA"
        case verifyIdentity = "VERIFY_IDENTITY"
    }

    /// The URL scheme as written (`mysql` or `mariadb`).
    public var scheme: String
    /// The user name; `nil` lets Connector/C use the login name.
    public var user: String?
    /// The password; never printed.
    public var password: String?
    /// The host name or address. Default `localhost`.
    public var host: String
    /// The TCP port. Default 3306.
    public var port: UInt32
    /// The database (schema) that unqualified table names belong to.
    public var database: String?
    /// A Unix socket path (`?socket=`); when set, ``host`` and ``port`` are not used.
    public var socket: String?
    /// `?ssl-mode=`. Default: see the type's documentation.
    public var tlsMode: TLSMode
    /// `?ssl-ca=`: a PEM file of trusted certificate authorities.
    public var tlsCA: String?
    /// `?ssl-cert=`: a PEM client certificate.
    public var tlsCertificate: String?
    /// `?ssl-key=`: the PEM key of ``tlsCertificate``.
    public var tlsKey: String?
    /// `?connect-timeout=` (e.g. `10s`, `500ms`, or plain seconds). Default 10 s.
    public var connectTimeout: Duration
    /// `?read-timeout=`: how long one read from the server may take. Default 60 s.
    public var readTimeout: Duration
    /// `?write-timeout=`: how long one write to the server may take. Default 60 s.
    public var writeTimeout: Duration

    /// The query parameters ``init(_:)`` accepts.
    public static let parameters: Set<String> = [
        "socket", "ssl-mode", "ssl-ca", "ssl-cert", "ssl-key", "connect-timeout", "read-timeout", "write-timeout",
    ]

    /// Parses a `mysql://` or `mariadb://` URL.
    /// - Throws: ``MySQLError`` (`invalidConfiguration`) naming the part that is wrong.
    public init(_ text: String) throws(MySQLError) {
        func invalid(_ problem: String) -> MySQLError {
            MySQLError(code: .invalidConfiguration, message: "\(Self.redact(text)): \(problem)")
        }
        guard let schemeEnd = Self.schemeSeparator(in: text) else {
            throw invalid("expected mysql://USER@HOST[:PORT]/DATABASE")
        }
        scheme = text[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "mysql" || scheme == "mariadb" else {
            throw invalid("the scheme must be mysql:// or mariadb://")
        }
        var rest = text[schemeEnd.upperBound...]
        var query: Substring = ""
        if let question = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: question)...]
            rest = rest[..<question]
        }
        var path: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        var hostPort = rest
        user = nil
        password = nil
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            hostPort = rest[rest.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                user = try Self.percentDecoded(userInfo[..<colon], invalid)
                password = try Self.percentDecoded(userInfo[userInfo.index(after: colon)...], invalid)
            } else {
                user = try Self.percentDecoded(userInfo, invalid)
            }
            if user?.isEmpty == true { user = nil }
        }
        port = 3306
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw invalid("unclosed '[' in the host") }
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let after = hostPort[hostPort.index(after: close)...]
            if after.hasPrefix(":") { port = try Self.port(after.dropFirst(), invalid) }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = String(hostPort[..<colon])
            port = try Self.port(hostPort[hostPort.index(after: colon)...], invalid)
        } else {
            host = String(hostPort)
        }
        if host.isEmpty { host = "localhost" }
        let databaseName = try Self.percentDecoded(path, invalid)
        database = databaseName.isEmpty ? nil : databaseName
        if let database, database.contains("/") { throw invalid("the database name cannot contain '/'") }

        socket = nil
        tlsCA = nil
        tlsCertificate = nil
        tlsKey = nil
        connectTimeout = .seconds(10)
        readTimeout = .seconds(60)
        writeTimeout = .seconds(60)
        var mode: TLSMode?
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0].lowercased().map { $0 == "_" ? "-" : $0 })
            let value = try Self.percentDecoded(parts.count == 2 ? parts[1] : "", invalid)
            switch key {
            case "socket": socket = value
            case "ssl-mode":
                let normalized = String(value.uppercased().map { $0 == "-" ? "_" : $0 })
                guard let parsed = TLSMode(rawValue: normalized) else {
                    throw invalid(
                        "ssl-mode=\(value) is unknown; use one of "
                            + TLSMode.allCases.map(\.rawValue).joined(separator: ", ")
                    )
                }
                mode = parsed
            case "ssl-ca": tlsCA = value
            case "ssl-cert": tlsCertificate = value
            case "ssl-key": tlsKey = value
            case "connect-timeout", "read-timeout", "write-timeout":
                guard let duration = Self.parseDuration(value), duration > .zero else {
                    throw invalid("\(key)=\(value) is not a duration (e.g. 10s, 500ms, 2m)")
                }
                switch key {
                case "connect-timeout": connectTimeout = duration
                case "read-timeout": readTimeout = duration
                default: writeTimeout = duration
                }
            case "password":
                throw invalid("put the password in the user part or in source.password (env:VAR or file:PATH)")
            default:
                throw invalid(
                    "unknown parameter \"\(key)\"; known: \(Self.parameters.sorted().joined(separator: ", "))"
                )
            }
        }
        let local = socket != nil || ["localhost", "127.0.0.1", "::1"].contains(host.lowercased())
        tlsMode = mode ?? (local ? .disabled : .verifyIdentity)
        if (tlsCertificate == nil) != (tlsKey == nil) {
            throw invalid("ssl-cert and ssl-key go together")
        }
    }

    /// The URL with the password replaced by `***`, safe to log.
    public var redacted: String {
        var text = scheme + "://"
        if let user {
            text += user
            if password != nil { text += ":***" }
            text += "@"
        }
        text += host.contains(":") ? "[\(host)]" : host
        if socket == nil { text += ":\(port)" }
        text += "/" + (database ?? "")
        if let socket { text += "?socket=" + socket }
        return text
    }

    /// The redacted form; see ``redacted``.
    public var description: String { redacted }

    /// Replaces `user:password@` in an unparsed URL with `user:***@`.
    static func redact(_ text: String) -> String {
        guard let schemeEnd = schemeSeparator(in: text) else { return text }
        let authorityEnd = text[schemeEnd.upperBound...].firstIndex(where: { $0 == "/" || $0 == "?" }) ?? text.endIndex
        let authority = text[schemeEnd.upperBound..<authorityEnd]
        guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") else {
            return text
        }
        return String(text[..<colon]) + ":***" + String(text[at...])
    }

    /// Where `://` lies in `text`.
    private static func schemeSeparator(in text: String) -> Range<String.Index>? {
        var index = text.startIndex
        while index < text.endIndex {
            if text[index...].hasPrefix("://") { return index..<text.index(index, offsetBy: 3) }
            index = text.index(after: index)
        }
        return nil
    }

    private static func port(_ text: Substring, _ invalid: (String) -> MySQLError) throws(MySQLError) -> UInt32 {
        guard let port = UInt32(text), port > 0, port < 65536 else {
            throw invalid("the port \"\(text)\" is not 1–65535")
        }
        return port
    }

    private static func percentDecoded(
        _ text: Substring,
        _ invalid: (String) -> MySQLError
    ) throws(MySQLError) -> String {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8)[...]
        while let byte = iterator.popFirst() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard iterator.count >= 2,
                let value = UInt8(String(decoding: iterator.prefix(2), as: UTF8.self), radix: 16)
            else { throw invalid("a '%' is not followed by two hex digits") }
            bytes.append(value)
            iterator = iterator.dropFirst(2)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `10s`, `500ms`, `2m`, `1h`, or plain seconds.
    static func parseDuration(_ text: String) -> Duration? {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            guard let value = Double(text.dropLast(suffix.count)), value >= 0 else { return nil }
            return .milliseconds(Int64(value * scale * 1000))
        }
        guard let value = Double(text), value >= 0 else { return nil }
        return .milliseconds(Int64(value * 1000))
    }
}
