import OutboxRelay

extension MySQLSource {
    /// Everything a ``MySQLSource`` needs: where to connect, which table and columns to read,
    /// what to do with delivered rows, and how to coordinate with other relays.
    ///
    /// Every default matches what PHP EventSauce creates, so a relay for a stock table needs
    /// only ``connection`` and ``flavour``.
    public struct Configuration: Sendable {
        /// The column names of the outbox table. Defaults are PHP's. On MySQL PHP creates the
        /// id as `bigint unsigned` auto-increment (outbox) or `varchar(36)` uuid (dispatcher), the
        /// payload as `varchar(16001)`, `JSON` or `longtext`, and `time_of_recording` as `DATETIME(6)`.
        public typealias Columns = OutboxColumns

        /// How relays on the same table coordinate.
        public struct Lock: Sendable, Hashable {
            /// The coordination mode.
            public enum Mode: String, Sendable, Hashable, CaseIterable {
                /// One active relay per table holds `GET_LOCK('<name>', 0)` on its data connection;
                /// the others wait in ``MySQLSource/open()`` as hot standbys and take over when the
                /// holder's session ends. The default. `GET_LOCK` is local to one server: on Galera
                /// or Group Replication, point every relay at the same node.
                case getLock = "get_lock"
                /// No coordination: only safe when exactly one relay (and no PHP relay) reads the table.
                case none
            }

            /// The mode. Default ``Mode/getLock``.
            public var mode: Mode
            /// How often a standby tries `GET_LOCK`. Default 1 s.
            public var standbyPollInterval: Duration

            /// Creates lock settings.
            public init(mode: Mode = .getLock, standbyPollInterval: Duration = .seconds(1)) {
                self.mode = mode
                self.standbyPollInterval = standbyPollInterval
            }
        }

        /// Deleting delivered (marked) rows, in bounded batches, after completing batches.
        ///
        /// `dispatcher` tables are cleaned by age (`time_of_dispatching` older than
        /// ``maximumAge``). `outbox` tables have no time column, so they are cleaned by count:
        /// all but the ``keepNewest`` newest consumed rows. Each statement is a single
        /// `DELETE … ORDER BY … LIMIT` that walks PHP's index (`(consumed, id)`, or
        /// `(dispatched, time_of_recording)`), so it locks only the rows it deletes.
        public struct Retention: Sendable, Hashable {
            /// `dispatcher`: delete marked rows dispatched longer ago than this.
            public var maximumAge: Duration?
            /// `outbox`: keep this many newest consumed rows, delete older consumed ones.
            public var keepNewest: Int?
            /// Rows deleted per statement (each autocommitted). Default 1000.
            public var batchSize: Int
            /// Statements per cleanup run, at most, so cleanup never delays relaying for long. Default 10.
            public var maximumBatchesPerRun: Int
            /// Time between cleanup runs. Default 60 s.
            public var interval: Duration

            /// Creates retention settings.
            public init(
                maximumAge: Duration? = nil,
                keepNewest: Int? = nil,
                batchSize: Int = 1000,
                maximumBatchesPerRun: Int = 10,
                interval: Duration = .seconds(60)
            ) {
                self.maximumAge = maximumAge
                self.keepNewest = keepNewest
                self.batchSize = batchSize
                self.maximumBatchesPerRun = maximumBatchesPerRun
                self.interval = interval
            }
        }

        /// Re-establishing a lost connection inside one source call.
        public struct Reconnect: Sendable, Hashable {
            /// The first wait before reconnecting. Default 100 ms.
            public var initialDelay: Duration
            /// The longest wait between attempts (doubling from ``initialDelay``). Default 5 s.
            public var maximumDelay: Duration
            /// How long one call keeps trying before it throws (the engine then retries the call
            /// with its own backoff). Default 30 s.
            public var maximumTime: Duration

            /// Creates reconnect settings.
            public init(
                initialDelay: Duration = .milliseconds(100),
                maximumDelay: Duration = .seconds(5),
                maximumTime: Duration = .seconds(30)
            ) {
                self.initialDelay = initialDelay
                self.maximumDelay = maximumDelay
                self.maximumTime = maximumTime
            }
        }

        /// Where to connect.
        public var connection: MySQLConnectionURL
        /// The password, overriding one in ``connection``; never printed. Default `nil`.
        public var password: String?
        /// The table generation. Default ``OutboxFlavour/outbox``.
        public var flavour: OutboxFlavour
        /// The outbox table, optionally qualified with its database (`shop.outbox_messages`).
        /// Default: the flavour's PHP default, in the URL's database.
        public var table: SQLIdentifier
        /// Column names. Default: PHP's.
        public var columns: Columns
        /// Mark (PHP semantics) or delete delivered rows. Default ``AfterDelivery/mark``.
        public var afterDelivery: AfterDelivery
        /// Where dead letters go (created if missing, DDL of
        /// `OutboxSchema.deadLetterTable(dialect: .mysql)`). Default `outbox_relay_dead_letters`
        /// in the outbox table's database.
        public var deadLetterTable: SQLIdentifier?
        /// The parked-deliveries table (``ParkedDelivery``), created on `open()` if missing (DDL of
        /// `OutboxSchema.parkedDeliveriesTable(dialect: .mysql)`). Default `nil`:
        /// `outbox_relay_parked_deliveries` in the outbox table's database.
        public var parkedDeliveriesTable: SQLIdentifier?
        /// Coordination of relays on one table. Default: `GET_LOCK`, 1 s standby polling.
        public var lock: Lock
        /// Reconnecting after a lost connection.
        public var reconnect: Reconnect
        /// Deleting delivered rows after a while. Default `nil`: delivered rows stay, as PHP
        /// leaves them (with ``AfterDelivery/delete`` there is nothing to clean).
        public var retention: Retention?
        /// Row ids per `UPDATE`/`DELETE … IN (…)` statement when completing. Default 1000.
        public var completeChunkSize: Int
        /// The largest stored payload, in bytes, that is read. The read query compares
        /// `LENGTH(payload)` with it and returns only the length of a larger one: that row is
        /// dead-lettered with its payload copied by the server (`INSERT … SELECT`).
        /// Default 16 MiB (``OversizedPayload/defaultLimit``).
        public var maximumPayloadBytes: Int = OversizedPayload.defaultLimit

        /// Creates a configuration.
        /// - Throws: ``SQLIdentifierError`` when `table` or `deadLetterTable` is not a valid name.
        public init(
            connection: MySQLConnectionURL,
            password: String? = nil,
            flavour: OutboxFlavour = .outbox,
            table: String? = nil,
            columns: Columns = Columns(),
            afterDelivery: AfterDelivery = .mark,
            deadLetterTable: String? = nil,
            lock: Lock = Lock(),
            reconnect: Reconnect = Reconnect(),
            retention: Retention? = nil,
            completeChunkSize: Int = 1000
        ) throws(SQLIdentifierError) {
            self.connection = connection
            self.password = password
            self.flavour = flavour
            self.table = try SQLIdentifier(table ?? flavour.defaultTable)
            self.columns = columns
            self.afterDelivery = afterDelivery
            self.deadLetterTable = try deadLetterTable.map { name throws(SQLIdentifierError) in try SQLIdentifier(name)
            }
            self.lock = lock
            self.reconnect = reconnect
            self.retention = retention
            self.completeChunkSize = completeChunkSize
        }

        /// The dead-letter table actually used.
        public var effectiveDeadLetterTable: SQLIdentifier {
            if let deadLetterTable { return deadLetterTable }
            let name = (table.schema.map { $0 + "." } ?? "") + DeadLetter.defaultTable
            return try! SQLIdentifier(name)
        }

        /// The parked-deliveries table actually used.
        public var effectiveParkedDeliveriesTable: SQLIdentifier {
            if let parkedDeliveriesTable { return parkedDeliveriesTable }
            return try! SQLIdentifier((table.schema.map { $0 + "." } ?? "") + ParkedDelivery.defaultTable)
        }

        /// Checks names and combinations that cannot work.
        /// - Throws: ``MySQLError`` (`invalidConfiguration`) naming the setting.
        public func validate() throws(MySQLError) {
            let names =
                flavour == .outbox
                ? [
                    ("columns.id", columns.id), ("columns.payload", columns.payload),
                    ("columns.consumed", columns.consumed),
                ]
                : [
                    ("columns.id", columns.id), ("columns.payload", columns.payload),
                    ("columns.time_of_recording", columns.timeOfRecording),
                    ("columns.dispatched", columns.dispatched),
                    ("columns.time_of_dispatching", columns.timeOfDispatching),
                ]
            for (key, name) in names {
                do { _ = try SQLIdentifier(name, allowsSchema: false) } catch {
                    throw MySQLError(code: .invalidConfiguration, message: "\(key): \(error)")
                }
            }
            if table.schema == nil, connection.database == nil {
                throw MySQLError(
                    code: .invalidConfiguration,
                    message:
                        "no database: put it in the URL (mysql://user@host/DATABASE) or qualify source.table "
                        + "(DATABASE.\(table.name))"
                )
            }
            if let retention {
                let problem: String? =
                    switch flavour {
                    case .dispatcher where retention.maximumAge == nil:
                        "retention: dispatcher tables are cleaned by age; set retention.max_age"
                    case .outbox where retention.maximumAge != nil:
                        "retention.max_age: outbox tables have no time column; use retention.keep "
                            + "(the number of newest consumed rows to keep)"
                    case .outbox where retention.keepNewest == nil:
                        "retention: outbox tables are cleaned by count; set retention.keep"
                    default:
                        retention.batchSize < 1 || retention.maximumBatchesPerRun < 1 || (retention.keepNewest ?? 0) < 0
                            ? "retention: batch_size and max_batches_per_run must be at least 1, keep at least 0" : nil
                    }
                if let problem { throw MySQLError(code: .invalidConfiguration, message: problem) }
            }
            if maximumPayloadBytes < 1 {
                throw MySQLError(code: .invalidConfiguration, message: "max_payload_bytes must be at least 1")
            }
            if completeChunkSize < 1 {
                throw MySQLError(code: .invalidConfiguration, message: "complete chunk size must be at least 1")
            }
        }
    }
}
