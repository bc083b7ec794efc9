import OutboxRelay
import OutboxSQLite

/// `source:` for SQLite: `url: sqlite:PATH` or `sqlite://PATH` (`sqlite:///abs/path` for an
/// absolute path). The file must exist; the relay never creates it.
///
/// ```yaml
/// source:
///   url: "sqlite:./var/app.db"
///   flavour: outbox                     # outbox | dispatcher
///   table: outbox_messages
///   busy_timeout: 5s                    # wait for PHP's write lock before retrying
///   columns: {payload: body}            # id, payload, consumed, time_of_recording, dispatched, time_of_dispatching
///   dead_letter_table: outbox_relay_dead_letters   # created on start if missing
///   parked_deliveries_table: outbox_relay_parked_deliveries   # created on start if missing
/// ```
struct SQLiteSourceConfig: SourceConfigParser {
    static let schemes = ["sqlite"]
    static let keys: Set<String> = ["busy_timeout", "columns", "dead_letter_table", "parked_deliveries_table"]

    static func makeSource(url: String, node: ConfigNode, common: SourceSettings) throws -> any OutboxSource {
        SQLiteSource(configuration: try configuration(url: url, node: node, common: common))
    }

    /// Builds the source configuration.
    /// - Throws: ``ConfigError`` naming the key that is wrong.
    static func configuration(
        url: String,
        node: ConfigNode,
        common: SourceSettings
    ) throws -> SQLiteSource.Configuration {
        var configuration = SQLiteSource.Configuration(
            path: try path(from: url, keyPath: node.keyPath("url")),
            flavour: common.flavour,
            table: common.table
        )
        configuration.afterDelivery = common.afterDelivery
        configuration.maximumPayloadBytes = common.maximumPayloadBytes

        if let timeout = try node.duration("busy_timeout") {
            guard timeout <= .seconds(Int64(Int32.max) / 1000) else {
                throw ConfigError(
                    keyPath: node.keyPath("busy_timeout"),
                    problem: "is too long",
                    fix: "use a few seconds, e.g. 5s"
                )
            }
            configuration.busyTimeout = timeout
        }

        let overrides = try OutboxColumnsConfig.overrides(in: node)
        if !overrides.isEmpty {
            configuration.columns = try SQLiteSource.Configuration.Columns(overrides: overrides)
        }

        if let name = try node.string("dead_letter_table") {
            do {
                configuration.deadLetterTable = try SQLIdentifier(name)
            } catch {
                throw ConfigError(
                    keyPath: node.keyPath("dead_letter_table"),
                    problem: error.description,
                    fix: "use NAME or SCHEMA.NAME with letters, digits and _"
                )
            }
        }
        if let parked = try RelayConfiguration.parseParkedDeliveriesTable(
            node,
            outboxTable: common.table,
            deadLetterTable: configuration.deadLetterTable
        ) {
            configuration.parkedDeliveriesTable = parked
        }
        return configuration
    }

    /// The file path of `sqlite:PATH`, `sqlite://PATH` or `sqlite:///ABSOLUTE`.
    /// - Throws: ``ConfigError`` when no path is given.
    static func path(from url: String, keyPath: String) throws -> String {
        guard let colon = url.firstIndex(of: ":"), url[..<colon].lowercased() == "sqlite" else {
            throw ConfigError(keyPath: keyPath, problem: "expected sqlite:PATH, found \"\(url)\"")
        }
        var path = url[url.index(after: colon)...]
        if path.hasPrefix("//") { path = path.dropFirst(2) }
        guard !path.isEmpty else {
            throw ConfigError(
                keyPath: keyPath,
                problem: "names no database file",
                fix: "use sqlite:./outbox.db or sqlite:///var/lib/app/outbox.db"
            )
        }
        return String(path)
    }
}
