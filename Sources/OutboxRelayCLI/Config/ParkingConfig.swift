import OutboxRelay

/// The parking keys: `transports.NAME.retry.park_after` and `relay.max_parked_messages`,
/// `relay.max_parked_bytes`.
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
}
