/// The DDL of the tables the relay reads and writes, for every supported SQL dialect.
///
/// Pure text, no I/O: the migration plugin and `outbox-relay schema` print it, and the
/// sources create the dead-letter table with it.
///
/// - Outbox tables (``outboxTable(flavour:dialect:table:)``) are exactly what the PHP packages
///   define (`eventsauce/message-storage` 1.4 `MySQL.ddl`/`PostgreSQL.ddl`, and
///   `eventsauce/doctrine-outbox-message-dispatcher` 0.1's test schemas), with the table name
///   quoted. No PHP package ships SQLite DDL; the SQLite text translates the MySQL columns.
/// - The dead-letter table (``deadLetterTable(dialect:table:)``) is the relay's own. Every
///   source writes the same columns:
///
///   | column | meaning |
///   |---|---|
///   | `id` | auto-increment key |
///   | `source_table` | the outbox table the row came from, as configured |
///   | `row_id` | the outbox row's `id`, as text |
///   | `event_id` | `__event_id` (or the derived id), `NULL` when the row could not be decoded |
///   | `event_type` | `__event_type`, `NULL` when the row could not be decoded |
///   | `destination` | the transport that gave up, `NULL` for undecodable or unrouted rows |
///   | `payload` | the stored `payload` column, byte for byte |
///   | `attempts` | delivery attempts made (0 for rows never sent) |
///   | `last_error` | why the message was set aside |
///   | `first_failed_at`, `last_failed_at` | UTC, microseconds |
///
///   Per dialect: SQLite stores `payload` as TEXT (as BLOB when the bytes are not valid
///   UTF-8, so nothing is altered) and times as `YYYY-MM-DD HH:MM:SS.ffffff` text
///   (``Timestamp/sqlText``); PostgreSQL stores `payload` as `bytea` and times as
///   `timestamptz(6)` (bind ``Timestamp/rfc3339``); MySQL stores `payload` as `longblob` and
///   times as `DATETIME(6)` in UTC (bind ``Timestamp/sqlText``).
///
/// Index names are global per schema in SQLite and PostgreSQL, so for a table name other
/// than the PHP default, indexes are named `<table>_<index>` instead of PHP's fixed names.
public enum OutboxSchema {
    /// The DDL that creates an outbox table of `flavour`, as the PHP package defines it.
    ///
    /// - Parameters:
    ///   - flavour: which table generation.
    ///   - dialect: the SQL dialect.
    ///   - table: the table name; `nil` means the flavour's PHP default
    ///     (``OutboxFlavour/defaultTable``).
    /// - Returns: one or more `;`-terminated statements, preceded by a comment naming the origin.
    public static func outboxTable(
        flavour: OutboxFlavour,
        dialect: SQLIdentifier.Dialect,
        table: SQLIdentifier? = nil
    ) -> String {
        let table = table ?? defaultIdentifier(flavour.defaultTable)
        let name = table.quoted(for: dialect)
        let isDefault = table.name == flavour.defaultTable
        switch (flavour, dialect) {
        case (.outbox, .postgres):
            let index = quote(isDefault ? "is_consumed" : table.name + "_is_consumed", .postgres)
            return """
                --
                -- PostgreSQL Table Schema (based on https://eventsauce.io/docs/message-outbox/table-schema/)
                -- eventsauce/message-storage 1.4.0, src/DoctrineOutbox/PostgreSQL.ddl
                --
                start transaction;
                create table if not exists \(name)
                (
                    "id"       bigserial not null primary key,
                    "consumed" bool      not null default false,
                    "payload"  json      not null
                );
                create index \(index) on \(name) ("consumed", "id" asc);
                commit transaction;

                """
        case (.outbox, .mysql):
            return """
                #
                # MySQL Table Schema (see https://eventsauce.io/docs/message-outbox/table-schema/)
                # eventsauce/message-storage 1.4.0, src/DoctrineOutbox/MySQL.ddl
                #
                create table if not exists \(name)
                (
                    `id`       bigint(20) unsigned not null auto_increment,
                    `consumed` tinyint(1) unsigned not null default 0,
                    `payload`  varchar(16001)      not null,
                    primary key (`id`),
                    key `is_consumed` (`consumed`, `id` asc)
                ) default character set utf8mb4
                  collate utf8mb4_general_ci
                  engine = InnoDB;

                """
        case (.outbox, .sqlite):
            let index = sqliteIndexName(isDefault ? "is_consumed" : table.name + "_is_consumed", table: table)
            return """
                -- No EventSauce package ships SQLite DDL: eventsauce/message-storage 1.4.0 MySQL.ddl, translated.
                CREATE TABLE IF NOT EXISTS \(name) (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    consumed BOOLEAN NOT NULL DEFAULT 0,
                    payload VARCHAR(16001) NOT NULL
                );
                CREATE INDEX IF NOT EXISTS \(index) ON \(quote(table.name, .sqlite)) (consumed, id ASC);

                """
        case (.dispatcher, .postgres):
            let index = quote(
                isDefault ? "not_dispatched_ordered_by_time" : table.name + "_not_dispatched_ordered_by_time",
                .postgres
            )
            return """
                -- eventsauce/doctrine-outbox-message-dispatcher 0.1.0, tests/setup-postgres-schema.php
                CREATE TABLE \(name) (
                    id UUID NOT NULL,
                    payload JSON NOT NULL,
                    dispatched BOOLEAN NOT NULL,
                    time_of_recording TIMESTAMP(6) NOT NULL,
                    time_of_dispatching TIMESTAMP(6) NULL,
                    PRIMARY KEY(id)
                );
                CREATE INDEX
                    IF NOT EXISTS
                    \(index) on \(name) (
                        dispatched,
                        time_of_recording ASC
                    );

                """
        case (.dispatcher, .mysql):
            return """
                -- eventsauce/doctrine-outbox-message-dispatcher 0.1.0, tests/setup-mysql-schema.php
                CREATE TABLE IF NOT EXISTS \(name) (
                    id VARCHAR(36) NOT NULL,
                    payload JSON NOT NULL,
                    time_of_recording DATETIME(6) NOT NULL,
                    dispatched BOOLEAN NOT NULL,
                    time_of_dispatching DATETIME(6) NULL,
                    INDEX dispatched (dispatched),
                    INDEX not_dispatched_ordered_by_time (dispatched, time_of_recording ASC)
                ) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci ENGINE = InnoDB;

                """
        case (.dispatcher, .sqlite):
            let index = sqliteIndexName(
                isDefault ? "not_dispatched_ordered_by_time" : table.name + "_not_dispatched_ordered_by_time",
                table: table
            )
            return """
                -- No EventSauce package ships SQLite DDL: \
                doctrine-outbox-message-dispatcher 0.1.0's MySQL columns, translated
                -- (times are 'YYYY-MM-DD HH:MM:SS.ffffff' text in UTC).
                CREATE TABLE IF NOT EXISTS \(name) (
                    id VARCHAR(36) NOT NULL PRIMARY KEY,
                    payload TEXT NOT NULL,
                    time_of_recording DATETIME NOT NULL,
                    dispatched BOOLEAN NOT NULL,
                    time_of_dispatching DATETIME NULL
                );
                CREATE INDEX IF NOT EXISTS \(index) ON \(quote(table.name, .sqlite)) \
                (dispatched, time_of_recording ASC);

                """
        }
    }

    /// The DDL that creates the relay's dead-letter table if it does not exist.
    ///
    /// The SQLite and PostgreSQL sources run this text on `open()`; see the type's
    /// documentation for the columns.
    /// - Parameters:
    ///   - dialect: the SQL dialect.
    ///   - table: the table name; `nil` means ``DeadLetter/defaultTable``
    ///     (`outbox_relay_dead_letters`).
    /// - Returns: `;`-terminated statements (the table and an index on `(source_table, row_id)`).
    public static func deadLetterTable(dialect: SQLIdentifier.Dialect, table: SQLIdentifier? = nil) -> String {
        let table = table ?? defaultIdentifier(DeadLetter.defaultTable)
        let name = table.quoted(for: dialect)
        let indexBase = table.name + "_source_row"
        switch dialect {
        case .sqlite:
            return """
                -- outbox-relay dead letters: payload holds the stored bytes untouched (BLOB when not valid UTF-8);
                -- times are 'YYYY-MM-DD HH:MM:SS.ffffff' text in UTC.
                CREATE TABLE IF NOT EXISTS \(name) (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    source_table TEXT NOT NULL,
                    row_id TEXT NOT NULL,
                    event_id TEXT NULL,
                    event_type TEXT NULL,
                    destination TEXT NULL,
                    payload TEXT NOT NULL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    last_error TEXT NOT NULL,
                    first_failed_at TEXT NOT NULL,
                    last_failed_at TEXT NOT NULL
                );
                CREATE INDEX IF NOT EXISTS \(sqliteIndexName(indexBase, table: table)) \
                ON \(quote(table.name, .sqlite)) (source_table, row_id);

                """
        case .postgres:
            return """
                -- outbox-relay dead letters: payload holds the stored bytes untouched.
                CREATE TABLE IF NOT EXISTS \(name) (
                    "id"              bigserial      NOT NULL PRIMARY KEY,
                    "source_table"    text           NOT NULL,
                    "row_id"          text           NOT NULL,
                    "event_id"        text           NULL,
                    "event_type"      text           NULL,
                    "destination"     text           NULL,
                    "payload"         bytea          NOT NULL,
                    "attempts"        integer        NOT NULL DEFAULT 0,
                    "last_error"      text           NOT NULL,
                    "first_failed_at" timestamptz(6) NOT NULL,
                    "last_failed_at"  timestamptz(6) NOT NULL
                );
                CREATE INDEX IF NOT EXISTS \(quote(indexBase, .postgres)) ON \(name) ("source_table", "row_id");

                """
        case .mysql:
            return """
                -- outbox-relay dead letters: payload holds the stored bytes untouched; times are UTC.
                CREATE TABLE IF NOT EXISTS \(name) (
                    `id`              bigint unsigned NOT NULL AUTO_INCREMENT,
                    `source_table`    varchar(255)    NOT NULL,
                    `row_id`          varchar(255)    NOT NULL,
                    `event_id`        varchar(255)    NULL,
                    `event_type`      varchar(1024)   NULL,
                    `destination`     varchar(255)    NULL,
                    `payload`         longblob        NOT NULL,
                    `attempts`        int unsigned    NOT NULL DEFAULT 0,
                    `last_error`      text            NOT NULL,
                    `first_failed_at` datetime(6)     NOT NULL,
                    `last_failed_at`  datetime(6)     NOT NULL,
                    PRIMARY KEY (`id`),
                    KEY `source_row` (`source_table`, `row_id`)
                ) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci ENGINE = InnoDB;

                """
        }
    }

    /// The dead-letter columns in table order (without `id`), as every source inserts them.
    public static let deadLetterColumns = [
        "source_table", "row_id", "event_id", "event_type", "destination", "payload",
        "attempts", "last_error", "first_failed_at", "last_failed_at",
    ]

    private static func defaultIdentifier(_ name: String) -> SQLIdentifier {
        // The PHP defaults and `outbox_relay_dead_letters` are valid names.
        try! SQLIdentifier(name, allowsSchema: false)
    }

    /// Quotes a name derived from validated parts (an index name built from a table name, or a
    /// part of a validated name): only letters, digits, `_` and `$`, so quoting is enough.
    /// A derived name may exceed 63 bytes, which SQLite and MySQL accept and PostgreSQL truncates.
    private static func quote(_ name: String, _ dialect: SQLIdentifier.Dialect) -> String {
        let quote = dialect == .mysql ? "`" : "\""
        return quote + name + quote
    }

    /// SQLite qualifies the index name, not the table, with the schema:
    /// `CREATE INDEX "aux"."idx" ON "table" (…)`.
    private static func sqliteIndexName(_ index: String, table: SQLIdentifier) -> String {
        let quotedIndex = quote(index, .sqlite)
        guard let schema = table.schema else { return quotedIndex }
        return quote(schema, .sqlite) + "." + quotedIndex
    }
}
