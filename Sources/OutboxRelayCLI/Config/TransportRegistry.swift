import OutboxRelay

/// Builds one transport type from its configuration mapping (`transports.NAME`).
protocol TransportConfigParser {
    /// The `type:` value that selects this parser, e.g. `kafka`.
    static var type: String { get }
    /// The keys this type accepts besides `type` and `retry`.
    static var keys: Set<String> { get }
    /// Builds the transport.
    /// - Throws: ``ConfigError`` naming the key that is wrong.
    static func makeTransport(name: String, node: ConfigNode) throws -> any Transport
}

/// Every transport type the CLI knows.
enum TransportRegistry {
    nonisolated(unsafe) static let parsers: [any TransportConfigParser.Type] = [
        FileTransportConfig.self,
        KafkaTransportConfig.self,
        HTTPTransportConfig.self,
    ]

    static func parser(for type: String, keyPath: String) throws -> any TransportConfigParser.Type {
        guard let parser = parsers.first(where: { $0.type == type }) else {
            let known = parsers.map { $0.type }.joined(separator: ", ")
            throw ConfigError(
                keyPath: keyPath,
                problem: "unknown transport type \"\(type)\"",
                fix: "use one of: \(known)"
            )
        }
        return parser
    }
}
