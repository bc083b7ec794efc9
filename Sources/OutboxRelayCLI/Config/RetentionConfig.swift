import OutboxRelay

/// `source.retention:` for the SQL sources that delete delivered rows after a while
/// (PostgreSQL and MySQL), with the flavour rules checked once for both.
///
/// ```yaml
/// retention: {max_age: 7d}                  # dispatcher tables: by time_of_dispatching
/// retention: {keep: 100000}                 # outbox tables: the newest consumed rows to keep
/// retention: {keep: 100000, batch_size: 1000, max_batches_per_run: 10, interval: 60s}
/// ```
///
/// Unset keys are `nil`: each source applies its documented default.
struct RetentionConfig {
    static let keys: Set<String> = ["max_age", "keep", "batch_size", "max_batches_per_run", "interval"]

    var maximumAge: Duration?
    var keepNewest: Int?
    var batchSize: Int?
    var maximumBatchesPerRun: Int?
    var interval: Duration?

    /// Parses `retention:` under `node`; `nil` when it is absent.
    /// - Throws: ``ConfigError`` naming the key that does not fit the table flavour.
    static func parse(in node: ConfigNode, flavour: OutboxFlavour) throws -> RetentionConfig? {
        guard let retention = try node.child("retention") else { return nil }
        try retention.rejectUnknownKeys(keys)
        let settings = RetentionConfig(
            maximumAge: try retention.duration("max_age"),
            keepNewest: try retention.int("keep"),
            batchSize: try retention.int("batch_size"),
            maximumBatchesPerRun: try retention.int("max_batches_per_run"),
            interval: try retention.duration("interval")
        )
        switch flavour {
        case .dispatcher where settings.keepNewest != nil:
            throw ConfigError(
                keyPath: retention.keyPath("keep"),
                problem: "applies to outbox-flavour tables only",
                fix: "use retention.max_age for dispatcher tables"
            )
        case .dispatcher where settings.maximumAge == nil:
            throw ConfigError(
                keyPath: retention.keyPath("max_age"),
                problem: "is required for dispatcher tables",
                fix: "e.g. max_age: 7d"
            )
        case .outbox where settings.maximumAge != nil:
            throw ConfigError(
                keyPath: retention.keyPath("max_age"),
                problem: "outbox-flavour tables have no time column",
                fix: "use retention.keep: N to keep the N newest consumed rows"
            )
        case .outbox where settings.keepNewest == nil:
            throw ConfigError(
                keyPath: retention.keyPath("keep"),
                problem: "is required for outbox tables",
                fix: "e.g. keep: 100000"
            )
        default:
            return settings
        }
    }
}
