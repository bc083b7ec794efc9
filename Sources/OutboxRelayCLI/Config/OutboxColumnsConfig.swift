import OutboxRelay

/// The `source.columns:` map every SQL source accepts: PHP's column roles with the names an
/// application gave them instead.
enum OutboxColumnsConfig {
    /// The roles `columns:` may rename.
    static let keys: Set<String> = [
        "id", "payload", "consumed", "time_of_recording", "dispatched", "time_of_dispatching",
    ]

    /// The renamed columns by role; empty when `source.columns:` is absent.
    /// - Throws: ``ConfigError`` naming an unknown role, or a name that is not a plain column name.
    static func overrides(in source: ConfigNode) throws -> [String: String] {
        guard let columns = try source.child("columns") else { return [:] }
        try columns.rejectUnknownKeys(keys)
        var overrides: [String: String] = [:]
        for key in columns.keys {
            guard let name = try columns.string(key) else { continue }
            do {
                _ = try SQLIdentifier(name, allowsSchema: false)
            } catch {
                throw ConfigError(
                    keyPath: columns.keyPath(key),
                    problem: error.description,
                    fix: "use a plain column name"
                )
            }
            overrides[key] = name
        }
        return overrides
    }

    /// `source.columns:` applied to PHP's names.
    /// - Throws: ``ConfigError`` as ``overrides(in:)`` does.
    static func columns(in source: ConfigNode) throws -> OutboxColumns {
        let overrides = try overrides(in: source)
        var columns = OutboxColumns()
        if let name = overrides["id"] { columns.id = name }
        if let name = overrides["payload"] { columns.payload = name }
        if let name = overrides["time_of_recording"] { columns.timeOfRecording = name }
        if let name = overrides["dispatched"] { columns.dispatched = name }
        if let name = overrides["time_of_dispatching"] { columns.timeOfDispatching = name }
        if let name = overrides["consumed"] { columns.consumed = name }
        return columns
    }
}
