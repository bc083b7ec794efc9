extension SQLiteSource {
    /// How ``SQLiteSource`` finds and treats its outbox table.
    ///
    /// ```swift
    /// var configuration = SQLiteSource.Configuration(path: "./outbox.db", flavour: .outbox)
    /// configuration.afterDelivery = .delete
    /// ```
    public struct Configuration: Sendable {
        /// The column names of the outbox table. Defaults are PHP's; override them when an
        /// application renamed a column.
        public struct Columns: Sendable, Hashable {
            /// The primary key. Default `id`.
            public var id: SQLIdentifier
            /// The serialized message. Default `payload`.
            public var payload: SQLIdentifier
            /// `outbox` flavour: the delivered flag. Default `consumed`.
            public var consumed: SQLIdentifier
            /// `dispatcher` flavour: the delivered flag. Default `dispatched`.
            public var dispatched: SQLIdentifier
            /// `dispatcher` flavour: the ordering column. Default `time_of_recording`.
            public var timeOfRecording: SQLIdentifier
            /// `dispatcher` flavour: set to the current UTC time when a row is marked. Default `time_of_dispatching`.
            public var timeOfDispatching: SQLIdentifier

            /// PHP's column names.
            public init() {
                id = Self.column("id")
                payload = Self.column("payload")
                consumed = Self.column("consumed")
                dispatched = Self.column("dispatched")
                timeOfRecording = Self.column("time_of_recording")
                timeOfDispatching = Self.column("time_of_dispatching")
            }

            /// Applies overrides keyed by snake-case role (`id`, `payload`, `consumed`,
            /// `dispatched`, `time_of_recording`, `time_of_dispatching`), as in the YAML `columns` map.
            /// - Throws: ``SQLIdentifierError`` for an invalid name, or ``SQLiteError`` with code
            ///   `missingColumn` for an unknown role.
            public init(overrides: [String: String]) throws {
                self.init()
                for (role, name) in overrides.sorted(by: { $0.key < $1.key }) {
                    let column = try SQLIdentifier(name, allowsSchema: false)
                    switch role {
                    case "id": id = column
                    case "payload": payload = column
                    case "consumed": consumed = column
                    case "dispatched": dispatched = column
                    case "time_of_recording": timeOfRecording = column
                    case "time_of_dispatching": timeOfDispatching = column
                    default:
                        throw SQLiteError(
                            code: .missingColumn,
                            message:
                                "unknown column role \"\(role)\"; use id, payload, consumed, dispatched, "
                                + "time_of_recording or time_of_dispatching"
                        )
                    }
                }
            }

            /// The columns `flavour` reads and writes, as (role, name) pairs.
            func used(by flavour: OutboxFlavour) -> [(role: String, name: SQLIdentifier)] {
                switch flavour {
                case .outbox:
                    return [("id", id), ("payload", payload), ("consumed", consumed)]
                case .dispatcher:
                    return [
                        ("id", id), ("payload", payload), ("time_of_recording", timeOfRecording),
                        ("dispatched", dispatched), ("time_of_dispatching", timeOfDispatching),
                    ]
                }
            }

            private static func column(_ name: String) -> SQLIdentifier {
                // PHP's column names are valid identifiers.
                try! SQLIdentifier(name, allowsSchema: false)
            }
        }

        /// The SQLite database file. It must exist, except for ``SQLiteSource/createTables()``,
        /// which creates it.
        public var path: String
        /// The table generation. Default `.outbox`.
        public var flavour: OutboxFlavour
        /// The outbox table. Default: the flavour's PHP default (`outbox_messages` or
        /// `messages_outbox`); `schema.table` reads a table of an attached database.
        public var table: SQLIdentifier
        /// Whether delivered rows are marked as PHP does, or deleted. Default `.mark`.
        public var afterDelivery: AfterDelivery
        /// How long a statement waits for another connection's write lock before failing with
        /// ``SQLiteError/Code-swift.struct/busy`` (the engine then retries). Default 5 s.
        public var busyTimeout: Duration
        /// The outbox table's column names. Default: PHP's.
        public var columns: Columns
        /// The dead-letter table, created on ``SQLiteSource/open()`` if missing.
        /// Default `outbox_relay_dead_letters`.
        public var deadLetterTable: SQLIdentifier
        /// The parked-deliveries table (``ParkedDelivery``), created on ``SQLiteSource/open()``
        /// if missing. Default `outbox_relay_parked_deliveries`.
        public var parkedDeliveriesTable: SQLIdentifier
        /// How often ``SQLiteSource/waitForRows(timeout:)`` checks whether another connection
        /// committed (`PRAGMA data_version`, a cheap read of the file header). Default 50 ms.
        public var changePollInterval: Duration
        /// The largest stored payload, in bytes, that is read. A larger one is never copied out of
        /// SQLite (its size is checked on the stepped row), and the row is dead-lettered with
        /// the payload copied by SQLite (`INSERT … SELECT` from the outbox row;
        /// `payload of N bytes exceeds max_payload_bytes M`).
        /// Default 16 MiB (``OversizedPayload/defaultLimit``).
        public var maximumPayloadBytes: Int

        /// A configuration with documented defaults.
        /// - Parameters:
        ///   - path: the database file.
        ///   - flavour: the table generation (default `.outbox`).
        ///   - table: the table (default: the flavour's PHP default name).
        public init(path: String, flavour: OutboxFlavour = .outbox, table: SQLIdentifier? = nil) {
            self.path = path
            self.flavour = flavour
            self.table = table ?? (try! SQLIdentifier(flavour.defaultTable, allowsSchema: false))
            self.afterDelivery = .mark
            self.busyTimeout = .seconds(5)
            self.columns = Columns()
            self.deadLetterTable = try! SQLIdentifier(DeadLetter.defaultTable, allowsSchema: false)
            self.parkedDeliveriesTable = try! SQLIdentifier(ParkedDelivery.defaultTable, allowsSchema: false)
            self.changePollInterval = .milliseconds(50)
            self.maximumPayloadBytes = OversizedPayload.defaultLimit
        }
    }
}
