/// A table or column name from configuration, validated and quoted for SQL.
///
/// Names from config files are never spliced into SQL as typed: each part must match
/// `[A-Za-z_][A-Za-z0-9_$]*` (at most 63 bytes, PostgreSQL's limit), a table may be
/// schema-qualified (`app.outbox_messages`), and ``quoted(for:)`` quotes every part.
public struct SQLIdentifier: Sendable, Hashable, CustomStringConvertible {
    /// The SQL dialect an identifier is quoted for.
    public enum Dialect: String, Sendable, Hashable, CaseIterable {
        case sqlite, postgres, mysql
    }

    /// The name's parts: `[schema, table]` or `[table]`.
    public let parts: [String]

    /// Validates a name.
    /// - Parameters:
    ///   - name: the name as configured, optionally `schema.table`.
    ///   - allowsSchema: whether a schema-qualified name is allowed (tables: yes; columns: no).
    /// - Throws: ``SQLIdentifierError`` saying which part is wrong and what is allowed.
    public init(_ name: String, allowsSchema: Bool = true) throws(SQLIdentifierError) {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 1 || (allowsSchema && parts.count == 2) else {
            throw SQLIdentifierError(
                name: name,
                reason: allowsSchema ? "use NAME or SCHEMA.NAME" : "a column name cannot contain '.'"
            )
        }
        for part in parts {
            guard let first = part.utf8.first else { throw SQLIdentifierError(name: name, reason: "a part is empty") }
            guard part.utf8.count <= 63 else {
                throw SQLIdentifierError(name: name, reason: "\"\(part)\" is longer than 63 bytes")
            }
            let isLetter: (UInt8) -> Bool = { ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 95 }
            guard isLetter(first), part.utf8.allSatisfy({ isLetter($0) || ($0 >= 48 && $0 <= 57) || $0 == 36 }) else {
                throw SQLIdentifierError(
                    name: name,
                    reason:
                        "\"\(part)\" may only contain letters, digits, '_' and '$', and must start with a letter or '_'"
                )
            }
        }
        self.parts = parts
    }

    /// The unqualified name (the table without its schema).
    public var name: String { parts.last! }

    /// The schema, if the name is qualified.
    public var schema: String? { parts.count == 2 ? parts[0] : nil }

    /// The name quoted for `dialect`: `"app"."outbox"` (SQLite, PostgreSQL) or `` `app`.`outbox` `` (MySQL).
    public func quoted(for dialect: Dialect) -> String {
        let quote = dialect == .mysql ? "`" : "\""
        return parts.map { quote + $0 + quote }.joined(separator: ".")
    }

    /// The name as configured.
    public var description: String { parts.joined(separator: ".") }
}

/// A configured SQL name that is not allowed.
public struct SQLIdentifierError: Error, Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var reason: String

    public var description: String { "invalid SQL name \"\(name)\": \(reason)" }
}
