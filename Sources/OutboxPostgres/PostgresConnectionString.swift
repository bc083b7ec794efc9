import CLibPQ

/// A libpq connection string: a `postgres://` / `postgresql://` URI or `key=value` pairs.
///
/// The relay hands the text to libpq unchanged (apart from an optional `postgres:` prefix
/// before `key=value` pairs), so every libpq parameter works (`sslmode`, `sslrootcert`,
/// `target_session_attrs`, `options`, …) and the `PG*` environment variables (`PGHOST`,
/// `PGPASSWORD`, `PGSSLMODE`, …) fill in whatever the string leaves out, as with `psql`.
/// An empty string means "everything from the environment".
public struct PostgresConnectionString: Sendable, Hashable, CustomStringConvertible {
    /// The text passed to libpq.
    public var conninfo: String

    /// Wraps a configured URL or conninfo string.
    ///
    /// `postgres://…` and `postgresql://…` URIs pass through; `postgres:host=… dbname=…`
    /// (and `postgresql:…`) lose the scheme prefix; anything else is taken as conninfo.
    public init(_ text: String) {
        var text = text
        for prefix in ["postgresql:", "postgres:"] where text.hasPrefix(prefix) && !text.hasPrefix(prefix + "//") {
            text = String(text.dropFirst(prefix.count))
            break
        }
        self.conninfo = text
    }

    /// The connection string as libpq reads it, safe to log: `key=value` pairs of the options
    /// it sets, every secret option (`password`, `sslpassword`, any libpq marks secret)
    /// shown as `***`.
    ///
    /// libpq's own parser (`PQconninfoParse`) decides what is a secret, so URIs and `key=value`
    /// strings, percent-encoded or quoted values and passwords with unescaped `/` are all
    /// covered; text libpq cannot parse is not shown at all.
    public var redacted: String {
        if conninfo.isEmpty { return "" }
        var error: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo, &error) else {
            if let error { PQfreemem(error) }
            return "(a connection string libpq cannot parse)"
        }
        defer { PQconninfoFree(options) }
        var pairs: [String] = []
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val {
                let isSecret = option.pointee.dispchar.map { String(cString: $0).contains("*") } ?? false
                pairs.append("\(String(cString: keyword))=\(isSecret ? "***" : Self.quoted(String(cString: value)))")
            }
            option += 1
        }
        return pairs.joined(separator: " ")
    }

    /// A conninfo value, single-quoted when it is empty or holds spaces, quotes or backslashes.
    private static func quoted(_ value: String) -> String {
        guard value.isEmpty || value.contains(where: { $0 == " " || $0 == "'" || $0 == "\\" }) else { return value }
        var quoted = "'"
        for character in value {
            if character == "\\" || character == "'" { quoted.append("\\") }
            quoted.append(character)
        }
        return quoted + "'"
    }

    /// The redacted form; see ``redacted``.
    public var description: String { redacted }
}
