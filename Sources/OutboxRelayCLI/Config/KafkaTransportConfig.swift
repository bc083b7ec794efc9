import Foundation
import OutboxKafka
import OutboxRelay

/// `type: kafka` — produces to Apache Kafka; see ``KafkaTransport``.
///
/// Keys (defaults in brackets): `bootstrap_servers` (required; a list or a comma-separated
/// string), `topic` (required; template), `key` [`{aggregate_root_id}`], `value_format`
/// [`envelope`] (`envelope` | `payload` | `cloudevents`), `partitioner` [`murmur2_random`],
/// `headers` {`standard` [true], `custom` [auto: not with `envelope`], `fixed` [none]}, `cloudevents` {`source`
/// [`outbox-relay`]}, `connect_timeout` [10s], `delivery_timeout` [30s], `flush_timeout`
/// [10s], `statistics_interval` [15s; `0s` off: librdkafka statistics for the transport's
/// metrics], `properties` (librdkafka properties, passed through; values may be `env:`/`file:`).
enum KafkaTransportConfig: TransportConfigParser {
    static let type = "kafka"
    static let keys: Set<String> = [
        "bootstrap_servers", "topic", "key", "value_format", "partitioner", "headers", "cloudevents",
        "connect_timeout", "delivery_timeout", "flush_timeout", "properties",
        "statistics_interval",
    ]

    static func makeTransport(name: String, node: ConfigNode) throws -> any Transport {
        try KafkaTransport(name: name, configuration: configuration(node))
    }

    /// The transport configuration `node` describes.
    /// - Throws: ``ConfigError`` naming the key that is wrong.
    static func configuration(_ node: ConfigNode) throws -> KafkaTransport.Configuration {
        let servers = (try node.stringList("bootstrap_servers") ?? [])
            .flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        guard !servers.isEmpty else {
            throw ConfigError(
                keyPath: node.keyPath("bootstrap_servers"),
                problem: "is required",
                fix: "list the brokers, e.g. `bootstrap_servers: [\"kafka-1:9092\", \"kafka-2:9092\"]`"
            )
        }
        var configuration = KafkaTransport.Configuration(
            bootstrapServers: servers,
            topic: try node.requiredString("topic")
        )
        if let key = try node.string("key") { configuration.key = key }
        if let format = try node.choice("value_format", as: KafkaTransport.Configuration.ValueFormat.self) {
            configuration.valueFormat = format
        }
        if let partitioner = try node.choice("partitioner", as: KafkaTransport.Configuration.Partitioner.self) {
            configuration.partitioner = partitioner
        }
        if let headers = try node.child("headers") {
            try headers.rejectUnknownKeys(["standard", "custom", "fixed"])
            if let standard = try headers.bool("standard") { configuration.headers.standard = standard }
            if try headers.string("custom")?.lowercased() != "auto", let custom = try headers.bool("custom") {
                configuration.headers.custom = custom
            }
            if let fixed = try headers.stringMap("fixed") { configuration.headers.fixed = fixed }
        }
        if let cloudEvents = try node.child("cloudevents") {
            try cloudEvents.rejectUnknownKeys(["source"])
            if let source = try cloudEvents.string("source") { configuration.cloudEvents.source = source }
        }
        if let timeout = try node.duration("connect_timeout") { configuration.timeouts.connect = timeout }
        if let timeout = try node.duration("delivery_timeout") { configuration.timeouts.delivery = timeout }
        if let timeout = try node.duration("flush_timeout") { configuration.timeouts.flush = timeout }
        if let interval = try node.duration("statistics_interval") { configuration.statisticsInterval = interval }
        if let properties = try node.stringMap("properties") { configuration.properties = properties }
        do {
            try configuration.validate()
        } catch {
            let key: String
            if let setting = error.setting {
                key = setting.hasPrefix("properties.") ? "properties" : setting
            } else {
                key = "type"
            }
            throw ConfigError(keyPath: node.keyPath(key), problem: error.message)
        }
        return configuration
    }
}

/// `outbox-relay check`: asks the cluster about the topic the transport produces to.
extension KafkaTransport: DestinationChecking {
    /// Why `check` fails for a Kafka topic that messages cannot be produced to.
    struct UnusableTopics: Error, CustomStringConvertible {
        var findings: [String]
        var description: String { findings.joined(separator: "; ") }
    }

    public func checkDestinations(routing: RoutingTable) async throws -> [String] {
        guard let topic = fixedTopic else {
            return [
                "topic template \"\(configuration.topic)\" has placeholders: "
                    + "topics are checked when first produced to "
                    + "(missing ones are dead-lettered unless the brokers create topics)"
            ]
        }
        let checks = try await checkTopics([topic])
        let unusable = checks.filter { !$0.isUsable }
        if !unusable.isEmpty {
            throw UnusableTopics(findings: unusable.map { "topic \($0)" })
        }
        return checks.map { "topic \($0)" }
    }
}
