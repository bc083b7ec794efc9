import OutboxRelay

/// Builds the transports of one `type:` from their configuration mappings (`transports.NAME`).
///
/// Register a conforming type with ``RelayRegistry/register(transport:)``. The configuration
/// loader selects it by ``type``, rejects every key of the mapping that is neither in ``keys``
/// nor `type` or `retry` (naming the key and the closest allowed one), reads `retry:` for the
/// engine, and then calls ``makeTransport(name:node:)``. Read the values with ``ConfigNode``'s
/// accessors: they resolve `env:VAR` and `file:PATH` values and name the full key path in
/// their errors, so a mistake in your keys is reported exactly like one in a built-in
/// transport's (and ends the command with exit code 78).
///
/// ```swift
/// enum QueueTransportConfig: TransportConfigParser {
///     static let type = "queue"
///     static let keys: Set<String> = ["url", "timeout"]
///
///     static func makeTransport(name: String, node: ConfigNode) throws -> any Transport {
///         QueueTransport(
///             name: name,
///             url: try node.requiredString("url"),
///             timeout: try node.duration("timeout") ?? .seconds(5)
///         )
///     }
/// }
/// ```
public protocol TransportConfigParser: SendableMetatype {
    /// The `type:` value that selects this parser, e.g. `kafka`.
    static var type: String { get }
    /// The keys this type accepts besides `type` and `retry`.
    static var keys: Set<String> { get }
    /// Builds the transport called `name` from its mapping `node` (whose unknown keys were
    /// already rejected). Do no I/O here: ``Transport/start()`` connects.
    /// - Throws: ``ConfigError`` naming the key that is wrong and how to fix it.
    static func makeTransport(name: String, node: ConfigNode) throws -> any Transport
}

/// The transport types `outbox-relay` ships, registered by ``RelayRegistry/builtIn``.
enum TransportRegistry {
    static let parsers: [any TransportConfigParser.Type] = [
        FileTransportConfig.self,
        KafkaTransportConfig.self,
        HTTPTransportConfig.self,
    ]
}
