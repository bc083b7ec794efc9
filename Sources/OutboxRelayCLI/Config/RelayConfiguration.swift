import ArgumentParser
import CoreMetrics
import Foundation
import Logging
import OutboxRelay

/// The parsed configuration file: a source, named transports, the routing table and engine tuning.
///
/// ```yaml
/// source: {url: "sqlite:./outbox.db", flavour: outbox, table: outbox_messages, batch_size: 500, after_delivery: mark}
/// # source.expander: NAME — a MessageExpander the executable registered (RelayRegistry)
/// transports:
///   audit: {type: file, path: ./audit.jsonl}
/// routes:
///   - {events: "*", to: [audit]}
/// unrouted: skip
/// relay: {max_batches_in_flight: 8, poll_interval: 10ms..1s, shutdown_grace_period: 10s}
/// monitoring: {listen: "127.0.0.1:9464"}   # off unless given: GET /metrics, /healthz, /readyz
/// ```
///
/// Transport types, source kinds and expanders come from a ``RelayRegistry`` (by default
/// ``RelayRegistry/current``).
struct RelayConfiguration {
    var source: any OutboxSource
    var sourceSettings: SourceSettings
    var transports: [any Transport]
    /// `source.expander`: the registered expander it names, if any.
    var expander: (any MessageExpander)?
    var routing: RoutingTable
    var engine: RelayEngine.Configuration
    /// `monitoring:`: the metrics and health server, `nil` (off) unless configured.
    var monitoring: MonitoringConfiguration?

    static let rootKeys: Set<String> = ["source", "transports", "routes", "unrouted", "relay", "monitoring"]
    static let sharedSourceKeys: Set<String> = [
        "url", "flavour", "table", "batch_size", "after_delivery", "expander",
        "max_payload_bytes",
    ]
    static let retryKeys: Set<String> = [
        "initial_delay", "multiplier", "max_delay", "jitter", "max_attempts",
        "park_after", "max_age",
    ]
    static let relayKeys: Set<String> = [
        "max_batches_in_flight", "max_rows_in_flight", "poll_interval_min", "poll_interval_max",
        "shutdown_grace_period",
        "max_bytes_in_flight",
        "status_interval",
        "max_parked_messages", "max_parked_bytes",
    ]

    /// Reads and validates a configuration file.
    /// - Throws: ``ConfigError`` naming the key that is wrong and how to fix it.
    static func load(
        path: String,
        registry: RelayRegistry = .current,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> RelayConfiguration {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            throw ConfigError(
                keyPath: "",
                problem: "cannot read the file \(path)",
                fix: "check the path; `outbox-relay demo` shows a working example"
            )
        }
        return try parse(yaml: text, registry: registry, environment: environment)
    }

    /// Loads the file for a command: a config mistake is handed to `report` and ends the
    /// command with exit code 78 (`EX_CONFIG`).
    static func load(path: String, onMistake report: (ConfigError) -> Void) throws -> RelayConfiguration {
        do {
            return try load(path: path)
        } catch let error as ConfigError {
            report(error)
            throw ExitCode(78)
        }
    }

    /// Parses configuration text.
    /// - Throws: ``ConfigError`` naming the key that is wrong and how to fix it.
    static func parse(
        yaml: String,
        registry: RelayRegistry = .current,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> RelayConfiguration {
        let root = try ConfigNode.parse(yaml: yaml, environment: environment)
        try root.rejectUnknownKeys(rootKeys)

        // source
        guard let sourceNode = try root.child("source") else {
            throw ConfigError(
                keyPath: "source",
                problem: "is required",
                fix: "add `source: {url: \"sqlite:./outbox.db\"}` or a postgres:// URL"
            )
        }
        let url = try sourceNode.requiredString("url")
        let parser = try registry.sourceParser(for: url, keyPath: sourceNode.keyPath("url"))
        try sourceNode.rejectUnknownKeys(sharedSourceKeys.union(parser.keys))
        let flavour = try sourceNode.choice("flavour", as: OutboxFlavour.self) ?? .outbox
        let tableName = try sourceNode.string("table") ?? flavour.defaultTable
        let table: SQLIdentifier
        do {
            table = try SQLIdentifier(tableName)
        } catch {
            throw ConfigError(
                keyPath: sourceNode.keyPath("table"),
                problem: error.description,
                fix: "use NAME or SCHEMA.NAME with letters, digits and _"
            )
        }
        let batchSize = try sourceNode.int("batch_size") ?? RelayEngine.Configuration().batchSize
        guard (1...100_000).contains(batchSize) else {
            throw ConfigError(
                keyPath: sourceNode.keyPath("batch_size"),
                problem: "must be between 1 and 100000, found \(batchSize)"
            )
        }
        let maximumPayloadBytes = try sourceNode.byteSize("max_payload_bytes") ?? OversizedPayload.defaultLimit
        guard maximumPayloadBytes >= 1 else {
            throw ConfigError(
                keyPath: sourceNode.keyPath("max_payload_bytes"),
                problem: "must be at least 1 byte",
                fix: "use e.g. 16MiB (the default)"
            )
        }
        let settings = SourceSettings(
            flavour: flavour,
            table: table,
            batchSize: batchSize,
            afterDelivery: try sourceNode.choice("after_delivery", as: AfterDelivery.self) ?? .mark,
            maximumPayloadBytes: maximumPayloadBytes
        )
        let source = try parser.makeSource(url: url, node: sourceNode, common: settings)
        let expander = try sourceNode.string("expander").map {
            try registry.expander(named: $0, keyPath: sourceNode.keyPath("expander"))
        }

        // transports
        guard let transportsNode = try root.child("transports"), !transportsNode.keys.isEmpty else {
            throw ConfigError(
                keyPath: "transports",
                problem: "is required and must name at least one transport",
                fix: "add e.g. `transports: {stdout: {type: file, path: \"-\"}}`"
            )
        }
        var transports: [any Transport] = []
        var retryOverrides: [String: RetryPolicy] = [:]
        for name in transportsNode.keys {
            guard let node = try transportsNode.child(name) else {
                throw ConfigError(
                    keyPath: transportsNode.keyPath(name),
                    problem: "has no settings",
                    fix: "add at least `type:`"
                )
            }
            let type = try node.requiredString("type")
            let transportParser = try registry.transportParser(for: type, keyPath: node.keyPath("type"))
            try node.rejectUnknownKeys(transportParser.keys.union(["type", "retry"]))
            transports.append(try transportParser.makeTransport(name: name, node: node))
            if let retry = try node.child("retry") {
                retryOverrides[name] = try parseRetry(retry)
            }
        }

        // routes
        let known = Set(transports.map(\.name))
        var rules: [RoutingTable.Rule] = []
        guard let routeNodes = try root.children("routes"), !routeNodes.isEmpty else {
            throw ConfigError(
                keyPath: "routes",
                problem: "is required",
                fix: "add e.g. `routes: [{events: \"*\", to: [\(known.sorted().first ?? "NAME")]}]`"
            )
        }
        for node in routeNodes {
            try node.rejectUnknownKeys(["events", "to", "final"])
            let patternText = try node.requiredString("events")
            let pattern: EventTypePattern
            do {
                pattern = try EventTypePattern(patternText)
            } catch {
                throw ConfigError(
                    keyPath: node.keyPath("events"),
                    problem: error.description,
                    fix: "use an event type, or a glob with * ? [..]"
                )
            }
            guard let destinations = try node.stringList("to"), !destinations.isEmpty else {
                throw ConfigError(
                    keyPath: node.keyPath("to"),
                    problem: "is required",
                    fix: "list the transports, e.g. to: [\(known.sorted().first ?? "NAME")]"
                )
            }
            for destination in destinations where !known.contains(destination) {
                throw ConfigError(
                    keyPath: node.keyPath("to"),
                    problem: "names the transport \"\(destination)\", which is not configured",
                    fix: "use one of \(known.sorted().joined(separator: ", ")) or add transports.\(destination)"
                )
            }
            rules.append(RoutingTable.Rule(events: pattern, to: destinations, isFinal: try node.bool("final") ?? false))
        }
        let unrouted = try root.choice("unrouted", as: RoutingTable.UnroutedPolicy.self) ?? .skip
        let routing = try RoutingTable(rules: rules, unrouted: unrouted, knownTransports: known)

        // engine tuning
        var engine = RelayEngine.Configuration(batchSize: batchSize, retryOverrides: retryOverrides)
        if let relay = try root.child("relay") {
            try relay.rejectUnknownKeys(relayKeys)
            if let value = try relay.int("max_batches_in_flight") {
                guard (1...64).contains(value) else {
                    throw ConfigError(
                        keyPath: relay.keyPath("max_batches_in_flight"),
                        problem: "must be between 1 and 64"
                    )
                }
                engine.maximumBatchesInFlight = value
            }
            if let value = try relay.int("max_rows_in_flight") {
                guard value >= 1 else {
                    throw ConfigError(keyPath: relay.keyPath("max_rows_in_flight"), problem: "must be at least 1")
                }
                engine.maximumRowsInFlight = value
            }
            engine.maximumBytesInFlight = try relay.byteSize("max_bytes_in_flight") ?? engine.maximumBytesInFlight
            let lower = try relay.duration("poll_interval_min") ?? engine.idlePollInterval.lowerBound
            let upper = try relay.duration("poll_interval_max") ?? engine.idlePollInterval.upperBound
            guard lower > .zero, lower <= upper else {
                throw ConfigError(
                    keyPath: relay.keyPath("poll_interval_min"),
                    problem: "must be above zero and not above poll_interval_max"
                )
            }
            engine.idlePollInterval = lower...upper
            engine.shutdownGracePeriod = try relay.duration("shutdown_grace_period") ?? engine.shutdownGracePeriod
            if let interval = try relay.duration("status_interval") {
                guard interval >= .milliseconds(100) else {
                    throw ConfigError(keyPath: relay.keyPath("status_interval"), problem: "must be at least 100ms")
                }
                engine.statusInterval = interval
            }
            engine.parking = try parseParkingLimits(relay, defaults: engine.parking)
        }
        guard engine.maximumBytesInFlight >= settings.maximumPayloadBytes else {
            throw ConfigError(
                keyPath: "relay.max_bytes_in_flight",
                problem:
                    "is \(engine.maximumBytesInFlight) bytes, below source.max_payload_bytes "
                    + "(\(settings.maximumPayloadBytes) bytes): a row that large could never be relayed",
                fix: "raise relay.max_bytes_in_flight (default 64MiB) or lower source.max_payload_bytes (default 16MiB)"
            )
        }
        return RelayConfiguration(
            source: source,
            sourceSettings: settings,
            transports: transports,
            expander: expander,
            routing: routing,
            engine: engine,
            monitoring: try root.child("monitoring").map(MonitoringConfiguration.parse)
        )
    }

    static func parseRetry(_ node: ConfigNode) throws -> RetryPolicy {
        try node.rejectUnknownKeys(retryKeys)
        var policy = RetryPolicy.default
        policy.initialDelay = try node.duration("initial_delay") ?? policy.initialDelay
        policy.maximumDelay = try node.duration("max_delay") ?? policy.maximumDelay
        if let multiplier = try node.double("multiplier") {
            guard multiplier >= 1 else {
                throw ConfigError(keyPath: node.keyPath("multiplier"), problem: "must be at least 1")
            }
            policy.multiplier = multiplier
        }
        if let jitter = try node.double("jitter") {
            guard (0...1).contains(jitter) else {
                throw ConfigError(keyPath: node.keyPath("jitter"), problem: "must be between 0 and 1")
            }
            policy.jitter = jitter
        }
        if let attempts = try node.string("max_attempts") {
            if attempts == "unlimited" {
                policy.maximumAttempts = nil
            } else if let count = Int(attempts), count >= 1 {
                policy.maximumAttempts = count
            } else {
                throw ConfigError(
                    keyPath: node.keyPath("max_attempts"),
                    problem: "expected a number of attempts (1 or more) or `unlimited`, found \"\(attempts)\""
                )
            }
        }
        policy.parkAfter = try parseParkAfter(node) ?? policy.parkAfter
        if let age = try node.string("max_age") {
            policy.maximumAge = age == "unlimited" ? nil : try node.duration("max_age")
        }
        return policy
    }

    /// Builds the engine for this configuration.
    /// `metrics` records the engine's ``RelayMetrics`` (default: the bootstrapped `MetricsSystem`).
    func makeEngine(
        logger: Logger,
        extraTransports: [any Transport] = [],
        metrics: (any MetricsFactory)? = nil
    ) throws -> RelayEngine {
        try RelayEngine(
            source: source,
            transports: transports + extraTransports,
            routing: routing,
            expander: expander,
            configuration: engine,
            metrics: metrics,
            logger: logger
        )
    }
}
