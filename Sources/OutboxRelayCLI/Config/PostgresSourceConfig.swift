import OutboxPostgres
import OutboxRelay

/// `source:` for PostgreSQL: `url: postgres://…`, `postgresql://…`, or libpq `key=value` pairs
/// (optionally prefixed `postgres:`; `url: "postgres:"` alone takes everything from `PG*`
/// environment variables).
///
/// ```yaml
/// source:
///   url: "postgres://relay@db/shop?sslmode=verify-full"   # password: env:/file: or PGPASSWORD
///   flavour: dispatcher
///   table: app.messages_outbox
///   columns: {payload: body}            # id, payload, time_of_recording, dispatched, time_of_dispatching, consumed
///   notify_channel: outbox              # LISTEN for wake-ups (install `outbox-relay schema --notify`)
///   statement_timeout: 30s              # 0 keeps the server's setting
///   lock: advisory                      # advisory (one active relay, others standby) | none
///   standby_poll_interval: 1s
///   dead_letter_table: app.outbox_relay_dead_letters
///   parked_deliveries_table: app.outbox_relay_parked_deliveries   # default: in the outbox table's schema
///   write_connection: separate          # separate (mark on a 2nd connection while reading) | shared
///   retention: {max_age: 7d}            # dispatcher; outbox: {keep: 100000}
/// ```
struct PostgresSourceConfig: SourceConfigParser {
    static let schemes = ["postgres", "postgresql"]
    static let keys: Set<String> = [
        "columns", "notify_channel", "statement_timeout", "lock", "standby_poll_interval",
        "dead_letter_table", "retention", "reconnect_timeout", "write_connection", "parked_deliveries_table",
    ]

    static func makeSource(url: String, node: ConfigNode, common: SourceSettings) throws -> any OutboxSource {
        try PostgresSource(configuration: configuration(url: url, node: node, common: common))
    }

    /// Builds the source configuration (also used by `outbox-relay status`).
    /// - Throws: ``ConfigError`` naming the key that is wrong.
    static func configuration(
        url: String,
        node: ConfigNode,
        common: SourceSettings
    ) throws -> PostgresSource.Configuration {
        let columns = try OutboxColumnsConfig.columns(in: node)

        var lock = PostgresSource.Configuration.Lock()
        lock.mode = try node.choice("lock", as: PostgresSource.Configuration.Lock.Mode.self) ?? .advisory
        if let interval = try node.duration("standby_poll_interval") {
            guard interval > .zero else {
                throw ConfigError(keyPath: node.keyPath("standby_poll_interval"), problem: "must be more than 0")
            }
            lock.standbyPollInterval = interval
        }

        var retention: PostgresSource.Configuration.Retention?
        if let parsed = try RetentionConfig.parse(in: node, flavour: common.flavour) {
            var settings = PostgresSource.Configuration.Retention()
            settings.maximumAge = parsed.maximumAge
            settings.keepNewest = parsed.keepNewest
            settings.batchSize = parsed.batchSize ?? settings.batchSize
            settings.maximumBatchesPerRun = parsed.maximumBatchesPerRun ?? settings.maximumBatchesPerRun
            settings.interval = parsed.interval ?? settings.interval
            retention = settings
        }

        var statementTimeout: Duration? = .seconds(30)
        if let timeout = try node.duration("statement_timeout") {
            statementTimeout = timeout == .zero ? nil : timeout
        }
        let deadLetterTable = try node.string("dead_letter_table")
        if let deadLetterTable {
            do { _ = try SQLIdentifier(deadLetterTable) } catch {
                throw ConfigError(
                    keyPath: node.keyPath("dead_letter_table"),
                    problem: error.description,
                    fix: "use NAME or SCHEMA.NAME"
                )
            }
        }
        let notifyChannel = try node.string("notify_channel")
        if let notifyChannel {
            do { _ = try SQLIdentifier(notifyChannel, allowsSchema: false) } catch {
                throw ConfigError(
                    keyPath: node.keyPath("notify_channel"),
                    problem: error.description,
                    fix: "use letters, digits and _"
                )
            }
        }
        let writeConnection =
            try node.choice("write_connection", as: PostgresSource.Configuration.WriteConnection.self) ?? .separate
        var reconnect = PostgresSource.Configuration.Reconnect()
        if let timeout = try node.duration("reconnect_timeout") { reconnect.maximumTime = timeout }

        do {
            var configuration = try PostgresSource.Configuration(
                connection: PostgresConnectionString(url),
                flavour: common.flavour,
                table: common.table.description,
                columns: columns,
                afterDelivery: common.afterDelivery,
                statementTimeout: statementTimeout,
                deadLetterTable: deadLetterTable,
                notifyChannel: notifyChannel,
                lock: lock,
                retention: retention,
                reconnect: reconnect,
                writeConnection: writeConnection
            )
            configuration.maximumPayloadBytes = common.maximumPayloadBytes
            configuration.parkedDeliveriesTable = try RelayConfiguration.parseParkedDeliveriesTable(
                node,
                outboxTable: common.table,
                deadLetterTable: configuration.effectiveDeadLetterTable
            )
            try configuration.validate()
            return configuration
        } catch let error as PostgresError {
            throw ConfigError(keyPath: node.path, problem: error.message)
        }
    }
}
