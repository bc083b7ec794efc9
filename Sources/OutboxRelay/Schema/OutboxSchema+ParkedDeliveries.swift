extension OutboxSchema {
    /// The DDL that creates the relay's parked-deliveries table (``ParkedDelivery``) if it does
    /// not exist. Sources that park (``ParkedDeliveryStore``) run it on `open()`.
    ///
    /// | column | meaning |
    /// |---|---|
    /// | `id` | auto-increment key; per destination and ordering key, outbox order |
    /// | `source_table` | the outbox table the row came from, as configured |
    /// | `destination` | the transport that has not delivered the message |
    /// | `row_id` | the outbox row's `id`, as text |
    /// | `event_id`, `event_type` | `__event_id` (or the derived id), `__event_type` |
    /// | `ordering_key` | the aggregate the message belongs to (``OutboxMessage/orderingKey``) |
    /// | `payload` | the message as forwarded: the stored `payload` column, byte for byte |
    /// | `attempts` | delivery attempts made so far |
    /// | `last_error` | why the last attempt failed |
    /// | `first_failed_at` | when the message was first not delivered (UTC, microseconds) |
    /// | `next_attempt_at` | when the next attempt is due (UTC, microseconds) |
    ///
    /// Types per dialect as for the dead-letter table (``deadLetterTable(dialect:table:)``).
    /// An operator can list what is parked with
    /// `SELECT destination, ordering_key, count(*), min(first_failed_at) FROM outbox_relay_parked_deliveries
    /// GROUP BY destination, ordering_key`.
    /// - Parameters:
    ///   - dialect: the SQL dialect.
    ///   - table: the table name; `nil` means ``ParkedDelivery/defaultTable``
    ///     (`outbox_relay_parked_deliveries`).
    public static func parkedDeliveriesTable(dialect: SQLIdentifier.Dialect, table: SQLIdentifier? = nil) -> String {
        // The default is a valid name.
        let table = table ?? (try! SQLIdentifier(ParkedDelivery.defaultTable, allowsSchema: false))
        let name = table.quoted(for: dialect)
        // Derived index names hold only the validated name's characters: quoting is enough.
        let queueIndex = table.name + "_queue"
        let keyIndex = table.name + "_key"
        switch dialect {
        case .sqlite:
            let schema = table.schema.map { "\"\($0)\"." } ?? ""
            return """
                -- outbox-relay parked deliveries: messages a destination has not taken yet, drained oldest first per
                -- aggregate; payload holds the stored bytes untouched (BLOB when not valid UTF-8);
                -- times are 'YYYY-MM-DD HH:MM:SS.ffffff' text in UTC.
                CREATE TABLE IF NOT EXISTS \(name) (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    source_table TEXT NOT NULL,
                    destination TEXT NOT NULL,
                    row_id TEXT NOT NULL,
                    event_id TEXT NOT NULL,
                    event_type TEXT NOT NULL,
                    ordering_key TEXT NOT NULL,
                    payload TEXT NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    last_error TEXT NOT NULL,
                    first_failed_at TEXT NOT NULL,
                    next_attempt_at TEXT NOT NULL
                );
                CREATE INDEX IF NOT EXISTS \(schema)"\(queueIndex)" ON "\(table.name)" (source_table, destination, id);
                CREATE INDEX IF NOT EXISTS \(schema)"\(keyIndex)" ON "\(table.name)" \
                (source_table, destination, ordering_key, id);

                """
        case .postgres:
            // No (source_table, destination, id) index here: the drain skips from key to key
            // through the key index (a recursive query), and keeping a second index cost about 40 %
            // of every parked insert (`Benchmarks/run-parking.sh`).
            return """
                -- outbox-relay parked deliveries: messages a destination has not taken yet, drained oldest first per
                -- aggregate; payload holds the stored bytes untouched.
                CREATE TABLE IF NOT EXISTS \(name) (
                    "id"              bigserial      NOT NULL PRIMARY KEY,
                    "source_table"    text           NOT NULL,
                    "destination"     text           NOT NULL,
                    "row_id"          text           NOT NULL,
                    "event_id"        text           NOT NULL,
                    "event_type"      text           NOT NULL,
                    "ordering_key"    text           NOT NULL,
                    "payload"         bytea          NOT NULL,
                    "attempts"        integer        NOT NULL DEFAULT 0,
                    "last_error"      text           NOT NULL,
                    "first_failed_at" timestamptz(6) NOT NULL,
                    "next_attempt_at" timestamptz(6) NOT NULL
                );
                CREATE INDEX IF NOT EXISTS "\(keyIndex)" ON \(name) \
                ("source_table", "destination", "ordering_key", "id");

                """
        case .mysql:
            return """
                -- outbox-relay parked deliveries: messages a destination has not taken yet, drained oldest first per
                -- aggregate; payload holds the stored bytes untouched; times are UTC.
                CREATE TABLE IF NOT EXISTS \(name) (
                    `id`              bigint unsigned NOT NULL AUTO_INCREMENT,
                    `source_table`    varchar(255)    NOT NULL,
                    `destination`     varchar(255)    NOT NULL,
                    `row_id`          varchar(255)    NOT NULL,
                    `event_id`        varchar(255)    NOT NULL,
                    `event_type`      varchar(1024)   NOT NULL,
                    `ordering_key`    varchar(512)    NOT NULL,
                    `payload`         longblob        NOT NULL,
                    `attempts`        int unsigned    NOT NULL DEFAULT 0,
                    `last_error`      text            NOT NULL,
                    `first_failed_at` datetime(6)     NOT NULL,
                    `next_attempt_at` datetime(6)     NOT NULL,
                    PRIMARY KEY (`id`),
                    KEY `queue` (`source_table`, `destination`, `id`),
                    KEY `ordering_key` (`source_table`, `destination`, `ordering_key`(191), `id`)
                ) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci ENGINE = InnoDB;

                """
        }
    }

    /// The parked-deliveries columns in table order (without `id`), as every source inserts them.
    public static let parkedDeliveryColumns = [
        "source_table", "destination", "row_id", "event_id", "event_type", "ordering_key", "payload",
        "attempts", "last_error", "first_failed_at", "next_attempt_at",
    ]
}
