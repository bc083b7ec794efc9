import OutboxRelay

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension PostgresSource {
    /// Everything a ``PostgresSource`` needs: where to connect, which table and columns to
    /// read, what to do with delivered rows, and how to coordinate with other relays.
    ///
    /// Every default matches what PHP EventSauce creates, so a relay for a stock table needs
    /// only ``connection`` and ``flavour``.
    public struct Configuration: Sendable {
        /// The column names of the outbox table. Defaults are PHP's. On PostgreSQL PHP creates
        /// the id as `bigserial` (outbox) or `uuid` (dispatcher), the payload as `varchar(16001)`
        /// or `json`, and `time_of_recording` as `timestamp(6)`.
        public typealias Columns = OutboxColumns

        /// How relays on the same table coordinate.
        public struct Lock: Sendable, Hashable {
            /// The coordination mode.
            public enum Mode: String, Sendable, Hashable, CaseIterable {
                /// One active relay per table holds a session-level `pg_advisory_lock` on its data
                /// connection; the others wait in ``PostgresSource/open()`` as hot standbys and take
                /// over when the active relay's session ends. The default.
                case advisory
                /// No coordination: only safe when exactly one relay (and no PHP relay) reads the table.
                case none
            }

            /// The mode. Default ``Mode/advisory``.
            public var mode: Mode
            /// How often a standby tries `pg_try_advisory_lock`. Default 1 s.
            public var standbyPollInterval: Duration

            /// Creates lock settings.
            public init(mode: Mode = .advisory, standbyPollInterval: Duration = .seconds(1)) {
                self.mode = mode
                self.standbyPollInterval = standbyPollInterval
            }
        }

        /// Deleting delivered (marked) rows, in bounded batches, after completing batches.
        ///
        /// `dispatcher` tables are cleaned by age (`time_of_dispatching` older than
        /// ``maximumAge``). `outbox` tables have no time column, so they are cleaned by count:
        /// all but the ``keepNewest`` newest consumed rows.
        public struct Retention: Sendable, Hashable {
            /// `dispatcher`: delete marked rows dispatched longer ago than this.
            public var maximumAge: Duration?
            /// `outbox`: keep this many newest consumed rows, delete older consumed ones.
            public var keepNewest: Int?
            /// Rows deleted per statement (each in its own short transaction). Default 1000.
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

            /// The waits as a ``RetryPolicy``: doubling from ``initialDelay`` up to
            /// ``maximumDelay``, without jitter.
            public var retryPolicy: RetryPolicy {
                RetryPolicy(
                    initialDelay: initialDelay,
                    multiplier: 2,
                    maximumDelay: maximumDelay,
                    jitter: 0,
                    maximumAttempts: nil
                )
            }

            /// A fresh schedule for one call that needs a connection, its time running from `now`.
            func backoff(now: ContinuousClock.Instant = .now) -> ReconnectBackoff {
                ReconnectBackoff(policy: retryPolicy, maximumTime: maximumTime, now: now)
            }
        }

        /// Which connection marks (or deletes) delivered rows.
        public enum WriteConnection: String, Sendable, CaseIterable {
            /// A second connection, on a thread of its own: the next batch is read while the
            /// previous one is being marked, so the server works on both at once. The default.
            case separate
            /// The reading connection: one connection per relay (plus one for `LISTEN`), reads
            /// and marks taking turns.
            case shared
        }

        /// Where to connect: any libpq URI or conninfo; `PG*` variables fill the gaps.
        public var connection: PostgresConnectionString
        /// The table generation. Default ``OutboxFlavour/outbox``.
        public var flavour: OutboxFlavour
        /// The outbox table, optionally schema-qualified. Default: the flavour's PHP default.
        public var table: SQLIdentifier
        /// Column names. Default: PHP's.
        public var columns: Columns
        /// Mark (PHP semantics) or delete delivered rows. Default ``AfterDelivery/mark``.
        public var afterDelivery: AfterDelivery
        /// Server-side limit per statement (`SET statement_timeout`); `nil` keeps the server's.
        /// Default 30 s.
        public var statementTimeout: Duration?
        /// Where dead letters go (created if missing, DDL of
        /// `OutboxSchema.deadLetterTable(dialect: .postgres)`). Default
        /// `outbox_relay_dead_letters` in the outbox table's schema.
        public var deadLetterTable: SQLIdentifier?
        /// The parked-deliveries table (``ParkedDelivery``), created on `open()` if missing.
        /// Default `nil`: `outbox_relay_parked_deliveries` in the outbox table's schema.
        public var parkedDeliveriesTable: SQLIdentifier?
        /// A channel to `LISTEN` on for instant wake-ups (install the trigger from
        /// ``PostgresSchema/notifyTrigger(table:channel:)``). Default `nil`: poll only.
        public var notifyChannel: String?
        /// Coordination of relays on one table. Default: advisory lock, 1 s standby polling.
        public var lock: Lock
        /// Cleanup of delivered rows. Default `nil`: keep them (like PHP).
        public var retention: Retention?
        /// Reconnecting after a lost connection.
        public var reconnect: Reconnect
        /// Row ids per `UPDATE`/`DELETE … = ANY($1)` statement when completing. Default 5000.
        public var completeChunkSize: Int
        /// Which connection completes rows. Default ``WriteConnection/separate``.
        public var writeConnection: WriteConnection
        /// The largest stored payload, in bytes, that is read. The read query compares
        /// `octet_length(payload)` with it and returns only the length of a larger one: that row
        /// is dead-lettered with its payload copied by the server (`INSERT … SELECT`).
        /// Default 16 MiB (``OversizedPayload/defaultLimit``).
        public var maximumPayloadBytes: Int = OversizedPayload.defaultLimit
        /// Shown in `pg_stat_activity` (and by `outbox-relay status` as the lock holder) unless
        /// the connection string sets `application_name`. Default `outbox-relay <host> pid <pid>`.
        public var applicationName: String

        /// Creates a configuration.
        /// - Throws: ``SQLIdentifierError`` when `table` is not a valid name.
        public init(
            connection: PostgresConnectionString,
            flavour: OutboxFlavour = .outbox,
            table: String? = nil,
            columns: Columns = Columns(),
            afterDelivery: AfterDelivery = .mark,
            statementTimeout: Duration? = .seconds(30),
            deadLetterTable: String? = nil,
            notifyChannel: String? = nil,
            lock: Lock = Lock(),
            retention: Retention? = nil,
            reconnect: Reconnect = Reconnect(),
            completeChunkSize: Int = 5000,
            writeConnection: WriteConnection = .separate,
            applicationName: String? = nil
        ) throws(SQLIdentifierError) {
            self.connection = connection
            self.flavour = flavour
            self.table = try SQLIdentifier(table ?? flavour.defaultTable)
            self.columns = columns
            self.afterDelivery = afterDelivery
            self.statementTimeout = statementTimeout
            self.deadLetterTable = try deadLetterTable.map { name throws(SQLIdentifierError) in try SQLIdentifier(name)
            }
            self.notifyChannel = notifyChannel
            self.lock = lock
            self.retention = retention
            self.reconnect = reconnect
            self.completeChunkSize = completeChunkSize
            self.writeConnection = writeConnection
            self.applicationName = applicationName ?? Self.defaultApplicationName
        }

        /// `outbox-relay <host> pid <pid>`.
        public static var defaultApplicationName: String {
            var name = [CChar](repeating: 0, count: 256)
            gethostname(&name, 255)
            let host = String(decoding: name.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return "outbox-relay \(host) pid \(getpid())"
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
        /// - Throws: ``PostgresError`` (`invalidConfiguration`) naming the setting.
        public func validate() throws(PostgresError) {
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
                    throw PostgresError(code: .invalidConfiguration, message: "\(key): \(error)")
                }
            }
            if let notifyChannel {
                do { _ = try SQLIdentifier(notifyChannel, allowsSchema: false) } catch {
                    throw PostgresError(code: .invalidConfiguration, message: "notify_channel: \(error)")
                }
            }
            if let retention {
                switch flavour {
                case .dispatcher where retention.maximumAge == nil:
                    throw PostgresError(
                        code: .invalidConfiguration,
                        message: "retention: dispatcher tables are cleaned by age; set retention.max_age"
                    )
                case .outbox where retention.maximumAge != nil:
                    throw PostgresError(
                        code: .invalidConfiguration,
                        message:
                            "retention.max_age: outbox tables have no time column; use retention.keep "
                            + "(the number of newest consumed rows to keep)"
                    )
                case .outbox where retention.keepNewest == nil:
                    throw PostgresError(
                        code: .invalidConfiguration,
                        message: "retention: outbox tables are cleaned by count; set retention.keep"
                    )
                default:
                    break
                }
                if retention.batchSize < 1 || retention.maximumBatchesPerRun < 1 || (retention.keepNewest ?? 0) < 0 {
                    throw PostgresError(
                        code: .invalidConfiguration,
                        message: "retention: batch_size and max_batches_per_run must be at least 1, keep at least 0"
                    )
                }
            }
            if maximumPayloadBytes < 1 {
                throw PostgresError(code: .invalidConfiguration, message: "max_payload_bytes must be at least 1")
            }
            if completeChunkSize < 1 {
                throw PostgresError(code: .invalidConfiguration, message: "complete chunk size must be at least 1")
            }
        }
    }
}
