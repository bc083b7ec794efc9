import OutboxRelay

/// `type: file` — appends JSON lines; see ``FileTransport``.
///
/// Keys: `path` (required; `-` for stdout), `sync` (default `false`).
enum FileTransportConfig: TransportConfigParser {
    static let type = "file"
    static let keys: Set<String> = ["path", "sync"]

    static func makeTransport(name: String, node: ConfigNode) throws -> any Transport {
        let path = try node.requiredString("path")
        return FileTransport(name: name, configuration: .init(path: path, sync: try node.bool("sync") ?? false))
    }
}
