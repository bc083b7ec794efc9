import OutboxRelay

/// The `source:` settings every source type shares.
struct SourceSettings {
    /// `source.flavour`. Default `outbox`.
    var flavour: OutboxFlavour
    /// `source.table`, validated. Default: the flavour's PHP default table.
    var table: SQLIdentifier
    /// `source.batch_size`. Default: ``RelayEngine/Configuration/batchSize``'s.
    var batchSize: Int
    /// `source.after_delivery`. Default `mark`.
    var afterDelivery: AfterDelivery
}

/// Builds a source for the URL schemes it handles.
protocol SourceConfigParser {
    /// URL schemes, e.g. `["sqlite"]`; the URL is `SCHEME:…`.
    static var schemes: [String] { get }
    /// The keys this source accepts under `source:` besides the shared ones.
    static var keys: Set<String> { get }
    /// Builds the source.
    /// - Throws: ``ConfigError`` naming the key that is wrong.
    static func makeSource(url: String, node: ConfigNode, common: SourceSettings) throws -> any OutboxSource
}

/// Every source type the CLI knows.
enum SourceRegistry {
    nonisolated(unsafe) static let parsers: [any SourceConfigParser.Type] = [
        SQLiteSourceConfig.self,
        PostgresSourceConfig.self,
    ]

    /// The parser for a URL, by scheme; libpq key=value strings (`host=… dbname=…`) go to PostgreSQL.
    static func parser(for url: String, keyPath: String) throws -> any SourceConfigParser.Type {
        let scheme: String
        if let colon = url.firstIndex(of: ":"), !url[..<colon].contains("="), !url[..<colon].contains(" ") {
            scheme = url[..<colon].lowercased()
        } else if url.contains("=") {
            scheme = "postgres"
        } else {
            scheme = ""
        }
        guard let parser = parsers.first(where: { $0.schemes.contains(scheme) }) else {
            let known = parsers.flatMap { $0.schemes }.map { "\($0):…" }.joined(separator: ", ")
            throw ConfigError(
                keyPath: keyPath,
                problem: "cannot tell the database from \"\(scheme.isEmpty ? url : scheme + ":…")\"",
                fix: "start the URL with one of: \(known)"
            )
        }
        return parser
    }
}
