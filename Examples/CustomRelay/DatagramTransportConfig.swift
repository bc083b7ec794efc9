import OutboxRelay
import OutboxRelayCLI

/// `type: datagram` — sends each message's stored envelope as one datagram to a Unix datagram
/// socket; see ``DatagramTransport``.
///
/// Keys: `path` (required; the receiver's socket, `env:`/`file:` allowed).
enum DatagramTransportConfig: TransportConfigParser {
    static let type = "datagram"
    static let keys: Set<String> = ["path"]

    static func makeTransport(name: String, node: ConfigNode) throws -> any Transport {
        let path = try node.requiredString("path")
        guard !path.isEmpty, path.utf8.count < DatagramTransport.maximumPathLength else {
            throw ConfigError(
                keyPath: node.keyPath("path"),
                problem: "must be a socket path of 1 to \(DatagramTransport.maximumPathLength - 1) bytes",
                fix: "use a shorter path, e.g. /run/NAME.sock"
            )
        }
        return DatagramTransport(name: name, path: path)
    }
}
