import OutboxRelay

/// The parking keys: `transports.NAME.retry.park_after`, `relay.max_parked_messages`,
/// `relay.max_parked_bytes` and `source.parked_deliveries_table`.
extension RelayConfiguration {
    /// `park_after`: a number of attempts (`3`), a duration with its unit (`5s`), or `never`.
    static func parseParkAfter(_ node: ConfigNode) throws -> ParkAfter? {
        guard let text = try node.string("park_after") else { return nil }
        if text == "never" { return .never }
        if let attempts = Int(text) {
            guard attempts >= 1 else {
                throw ConfigError(
                    keyPath: node.keyPath("park_after"),
                    problem: "must be at least 1 attempt",
                    fix: "use a number of attempts (e.g. 3), a duration with its unit (e.g. 5s), or never"
                )
            }
            return .attempts(attempts)
        }
        guard let duration = try? node.duration("park_after") else {
            throw ConfigError(
                keyPath: node.keyPath("park_after"),
                problem: "expected a number of attempts, a duration or never, found \"\(text)\"",
                fix: "use e.g. 3 (attempts), 5s (time spent retrying in the batch) or never"
            )
        }
        return .duration(duration)
    }

    /// `relay.max_parked_messages` and `relay.max_parked_bytes`: the per-destination cap.
    static func parseParkingLimits(
        _ relay: ConfigNode,
        defaults: RelayEngine.Configuration.Parking
    ) throws -> RelayEngine.Configuration.Parking {
        var parking = defaults
        for (key, apply) in [
            ("max_parked_messages", { (value: Int) in parking.maximumEntries = value }),
            ("max_parked_bytes", { (value: Int) in parking.maximumBytes = value }),
        ] {
            guard let value = try relay.int(key) else { continue }
            guard value >= 1 else { throw ConfigError(keyPath: relay.keyPath(key), problem: "must be at least 1") }
            apply(value)
        }
        return parking
    }

    /// `source.parked_deliveries_table`: `NAME` or `SCHEMA.NAME`, validated like every identifier
    /// from config (and quoted where used). It must name neither the outbox table nor the
    /// dead-letter table, and leave room for its index names (`NAME_queue`, `NAME_key`, at most
    /// 63 bytes).
    static func parseParkedDeliveriesTable(
        _ node: ConfigNode,
        outboxTable: SQLIdentifier,
        deadLetterTable: SQLIdentifier?
    ) throws -> SQLIdentifier? {
        guard let text = try node.string("parked_deliveries_table") else { return nil }
        let keyPath = node.keyPath("parked_deliveries_table")
        let name: SQLIdentifier
        do {
            name = try SQLIdentifier(text)
        } catch {
            throw ConfigError(
                keyPath: keyPath,
                problem: error.description,
                fix: "use NAME or SCHEMA.NAME with letters, digits and _"
            )
        }
        guard name.name.utf8.count + "_queue".utf8.count <= 63 else {
            throw ConfigError(
                keyPath: keyPath,
                problem: "\"\(name.name)\" is too long for its index names (NAME_queue, at most 63 bytes)",
                fix: "use a name of at most 57 bytes"
            )
        }
        for (other, what) in [
            (outboxTable, "the outbox table (source.table)"), (deadLetterTable, "the dead-letter table"),
        ]
        where other == name {
            throw ConfigError(
                keyPath: keyPath,
                problem: "names \(what)",
                fix: "use a table of its own, e.g. \(ParkedDelivery.defaultTable)"
            )
        }
        return name
    }
}
