import OutboxRelay

/// The `monitoring:` section: the HTTP server for `/metrics`, `/healthz` and `/readyz`. Off
/// unless `listen` is given.
///
/// ```yaml
/// monitoring:
///   listen: "127.0.0.1:9464"   # HOST:PORT, IPv4 or [IPv6]; port 0 picks a free one (logged)
///   wedged_after: 2m           # /healthz answers 503 when the engine made no progress this long
/// ```
struct MonitoringConfiguration: Sendable, Hashable {
    /// Where the server listens.
    enum Address: Sendable, Hashable, CustomStringConvertible {
        case ipv4(String, port: UInt16)
        case ipv6(String, port: UInt16)

        var description: String {
            switch self {
            case .ipv4(let host, let port): "\(host):\(port)"
            case .ipv6(let host, let port): "[\(host)]:\(port)"
            }
        }
    }

    static let keys: Set<String> = ["listen", "wedged_after"]

    /// Where the server listens.
    var listen: Address
    /// How long the engine may go without progress (an event handled or a transport's answer)
    /// before `/healthz` answers 503. It must exceed the longest transport timeout plus the
    /// largest retry delay. Default 2 minutes.
    var wedgedAfter: Duration = .seconds(120)

    /// Reads the section.
    /// - Throws: ``ConfigError`` naming the key.
    static func parse(_ node: ConfigNode) throws -> MonitoringConfiguration {
        try node.rejectUnknownKeys(keys)
        let text = try node.requiredString("listen")
        guard let address = parseAddress(text) else {
            throw ConfigError(
                keyPath: node.keyPath("listen"),
                problem: "expected HOST:PORT with an IP address, found \"\(text)\"",
                fix: "use e.g. \"127.0.0.1:9464\", \"0.0.0.0:9464\" or \"[::1]:9464\""
            )
        }
        var configuration = MonitoringConfiguration(listen: address)
        if let wedgedAfter = try node.duration("wedged_after") {
            guard wedgedAfter > .zero else {
                throw ConfigError(keyPath: node.keyPath("wedged_after"), problem: "must be above zero")
            }
            configuration.wedgedAfter = wedgedAfter
        }
        return configuration
    }

    static func parseAddress(_ text: String) -> Address? {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                return nil
            }
            let host = String(text[text.index(after: text.startIndex)..<close])
            guard let port = UInt16(text[text.index(close, offsetBy: 2)...]), host.contains(":") else { return nil }
            return .ipv6(host, port: port)
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let port = UInt16(parts[1]) else { return nil }
        let octets = parts[0].split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets.allSatisfy({ $0.count <= 3 && UInt8($0) != nil }) else { return nil }
        return .ipv4(String(parts[0]), port: port)
    }
}
