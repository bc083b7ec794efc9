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

    /// The connection string with any password replaced by `***`, safe to log.
    ///
    /// Covers `user:password@` in URIs, `password=` query parameters, and `password=` pairs
    /// (quoted or not) in conninfo strings.
    public var redacted: String {
        if conninfo.hasPrefix("postgres://") || conninfo.hasPrefix("postgresql://") {
            return Self.redactURI(conninfo)
        }
        return Self.redactKeyValues(conninfo)
    }

    /// The redacted form; see ``redacted``.
    public var description: String { redacted }

    private static func redactURI(_ uri: String) -> String {
        var text = Substring(uri)
        var result = ""
        // scheme://
        let schemeLength = uri.hasPrefix("postgresql://") ? 13 : 11
        result += text.prefix(schemeLength)
        text = text.dropFirst(schemeLength)
        // authority up to the first '/' or '?'
        let authorityEnd = text.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? text.endIndex
        var authority = text[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            if let colon = userInfo.firstIndex(of: ":") {
                result += userInfo[..<colon] + ":***"
            } else {
                result += userInfo
            }
            authority = authority[at...]
        }
        result += authority
        var rest = String(text[authorityEnd...])
        if let question = rest.firstIndex(of: "?") {
            let path = rest[...question]
            let query = rest[rest.index(after: question)...].split(separator: "&", omittingEmptySubsequences: false).map
            { pair -> String in
                pair.lowercased().hasPrefix("password=") ? "password=***" : String(pair)
            }
            rest = path + query.joined(separator: "&")
        }
        return result + rest
    }

    private static func redactKeyValues(_ text: String) -> String {
        var result = ""
        var index = text.startIndex
        while index < text.endIndex {
            // Copy whitespace.
            if text[index] == " " || text[index] == "\t" || text[index] == "\n" {
                result.append(text[index])
                index = text.index(after: index)
                continue
            }
            // key
            let keyStart = index
            while index < text.endIndex, text[index] != "=", text[index] != " " { index = text.index(after: index) }
            let key = text[keyStart..<index]
            result += key
            // optional spaces and '='
            while index < text.endIndex, text[index] == " " {
                result.append(" ")
                index = text.index(after: index)
            }
            guard index < text.endIndex, text[index] == "=" else { continue }
            result.append("=")
            index = text.index(after: index)
            while index < text.endIndex, text[index] == " " {
                result.append(" ")
                index = text.index(after: index)
            }
            // value: quoted ('…' with \' and \\ escapes) or up to whitespace
            let valueStart = index
            if index < text.endIndex, text[index] == "'" {
                index = text.index(after: index)
                while index < text.endIndex, text[index] != "'" {
                    if text[index] == "\\" {
                        index = text.index(after: index)
                        if index == text.endIndex { break }
                    }
                    index = text.index(after: index)
                }
                if index < text.endIndex { index = text.index(after: index) }
            } else {
                while index < text.endIndex, text[index] != " ", text[index] != "\t", text[index] != "\n" {
                    if text[index] == "\\" {
                        index = text.index(after: index)
                        if index == text.endIndex { break }
                    }
                    index = text.index(after: index)
                }
            }
            result += key.lowercased() == "password" ? "***" : text[valueStart..<index]
        }
        return result
    }
}
