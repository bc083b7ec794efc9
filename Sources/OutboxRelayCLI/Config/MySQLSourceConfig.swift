import OutboxMySQL
import OutboxRelay

/// `source:` for MySQL and MariaDB: `url: mysql://…` or `mariadb://…`.
///
/// ```yaml
/// source:
///   url: "mysql://relay@db:3306/shop?ssl-mode=VERIFY_IDENTITY&ssl-ca=/etc/ssl/db-ca.pem"
///   password: env:MYSQL_PASSWORD        # or file:/run/secrets/mysql; wins over one in the URL
///   flavour: dispatcher
///   table: shop.messages_outbox
///   columns: {payload: body}            # id, payload, time_of_recording, dispatched, time_of_dispatching, consumed
///   lock: get_lock                      # get_lock (one active relay, others standby) | none
///   standby_poll_interval: 1s
///   dead_letter_table: shop.outbox_relay_dead_letters
///   parked_deliveries_table: shop.outbox_relay_parked_deliveries   # default: next to the dead-letter table
///   reconnect_timeout: 30s
///   retention: {max_age: 7d}            # dispatcher; outbox: {keep: 100000} (see RetentionConfig)
/// ```
///
/// URL parameters: `socket`, `ssl-mode`, `ssl-ca`, `ssl-cert`, `ssl-key`, `connect-timeout`,
/// `read-timeout`, `write-timeout` (see ``MySQLConnectionURL``).
struct MySQLSourceConfig: SourceConfigParser {
    static let schemes = ["mysql", "mariadb"]
    static let keys: Set<String> = [
        "password", "columns", "lock", "standby_poll_interval", "dead_letter_table", "reconnect_timeout",
        "retention", "parked_deliveries_table",
    ]

    static func makeSource(url: String, node: ConfigNode, common: SourceSettings) throws -> any OutboxSource {
        try MySQLSource(configuration: configuration(url: url, node: node, common: common))
    }

    /// Builds the source configuration.
    /// - Throws: ``ConfigError`` naming the key that is wrong.
    static func configuration(url: String, node: ConfigNode, common: SourceSettings) throws -> MySQLSource.Configuration
    {
        let connection: MySQLConnectionURL
        do { connection = try MySQLConnectionURL(url) } catch {
            throw ConfigError(keyPath: node.keyPath("url"), problem: error.message)
        }
        let columns = try OutboxColumnsConfig.columns(in: node)
        var lock = MySQLSource.Configuration.Lock()
        lock.mode = try node.choice("lock", as: MySQLSource.Configuration.Lock.Mode.self) ?? .getLock
        if let interval = try node.duration("standby_poll_interval") {
            guard interval > .zero else {
                throw ConfigError(keyPath: node.keyPath("standby_poll_interval"), problem: "must be more than 0")
            }
            lock.standbyPollInterval = interval
        }
        let deadLetterTable = try node.string("dead_letter_table")
        if let deadLetterTable {
            do { _ = try SQLIdentifier(deadLetterTable) } catch {
                throw ConfigError(
                    keyPath: node.keyPath("dead_letter_table"),
                    problem: error.description,
                    fix: "use NAME or DATABASE.NAME"
                )
            }
        }
        var reconnect = MySQLSource.Configuration.Reconnect()
        if let timeout = try node.duration("reconnect_timeout") { reconnect.maximumTime = timeout }
        var retention: MySQLSource.Configuration.Retention?
        if let parsed = try RetentionConfig.parse(in: node, flavour: common.flavour) {
            var settings = MySQLSource.Configuration.Retention()
            settings.maximumAge = parsed.maximumAge
            settings.keepNewest = parsed.keepNewest
            settings.batchSize = parsed.batchSize ?? settings.batchSize
            settings.maximumBatchesPerRun = parsed.maximumBatchesPerRun ?? settings.maximumBatchesPerRun
            settings.interval = parsed.interval ?? settings.interval
            retention = settings
        }
        do {
            var configuration = try MySQLSource.Configuration(
                connection: connection,
                password: try node.string("password"),
                flavour: common.flavour,
                table: common.table.description,
                columns: columns,
                afterDelivery: common.afterDelivery,
                deadLetterTable: deadLetterTable,
                lock: lock,
                reconnect: reconnect,
                retention: retention
            )
            configuration.maximumPayloadBytes = common.maximumPayloadBytes
            configuration.parkedDeliveriesTable = try RelayConfiguration.parseParkedDeliveriesTable(
                node,
                outboxTable: common.table,
                deadLetterTable: configuration.effectiveDeadLetterTable
            )
            try configuration.validate()
            return configuration
        } catch let error as MySQLError {
            throw ConfigError(keyPath: node.path, problem: error.message)
        }
    }
}
