import CRdKafka
import CoreMetrics
import Logging
import Synchronization

/// Delivers outbox messages to Apache Kafka with librdkafka's idempotent producer.
///
/// One producer per transport, owned by its own thread (see ``Configuration`` for the
/// settings and their defaults). ``deliver(_:)`` renders each message's topic, key, value and
/// headers, hands the whole batch to that thread, which produces every record
/// (`rd_kafka_produceva`; values are read from the batch's buffer, not copied, so the batch
/// lives until its reports) and resolves the batch once every delivery report arrived.
/// A full local queue is back-pressure: the thread serves delivery reports and produces on.
///
/// Results: ``DeliveryResult/delivered`` only after the broker acknowledged the message
/// (`acks=all`); ``DeliveryResult/permanent(_:)`` for messages that can never be accepted
/// (too large, unknown topic with auto-create off, not authorized, invalid topic name);
/// ``DeliveryResult/retryable(_:retryAfter:)`` otherwise (timeouts, leader changes, brokers
/// down). Messages with the same ``OutboxMessage/orderingKey`` keep their order: after a
/// message failed to be produced, the later messages of that key in the batch are not sent
/// (reported retryable); the engine resends each key from its first failure (see
/// ``Transport``). The default key (the aggregate root id) puts
/// an aggregate's messages in one partition, where the idempotent producer keeps their order.
public final class KafkaTransport: Transport, Sendable {
    private enum State {
        case idle
        case started(RDKafkaProducer)
        case shutDown
    }

    /// The configured name routes refer to.
    public let name: String
    /// The configuration the transport was created with.
    public let configuration: Configuration
    let encoder: KafkaRecordEncoder
    private let logger: Logger
    /// `nil`: swift-metrics' global factory, as bootstrapped when ``start()`` runs.
    private let metricsFactory: (any MetricsFactory)?
    private let state = Mutex(State.idle)

    /// Creates a transport; nothing connects before ``start()``.
    /// - Parameter metrics: where ``KafkaMetrics`` go; by default swift-metrics' global factory
    ///   as bootstrapped when ``start()`` runs (so the transport may be created before).
    /// - Throws: ``KafkaTransportError`` with ``KafkaTransportError/Code/invalidConfiguration``
    ///   for an invalid topic or key template, or no bootstrap servers.
    public init(
        name: String,
        configuration: Configuration,
        metrics: (any MetricsFactory)? = nil,
        logger: Logger = Logger(label: "outbox-relay.kafka")
    ) throws(KafkaTransportError) {
        guard !configuration.bootstrapServers.isEmpty else {
            throw KafkaTransportError(
                code: .invalidConfiguration,
                message: "the Kafka transport \"\(name)\" has no bootstrap servers"
            )
        }
        self.name = name
        self.configuration = configuration
        self.encoder = try KafkaRecordEncoder(configuration: configuration)
        self.logger = logger
        self.metricsFactory = metrics
    }

    /// The topic every message goes to, when the topic template has no placeholders.
    public var fixedTopic: String? {
        encoder.topic.fixedText
    }

    /// Creates the producer and waits (at most ``Configuration/Timeouts/connect``) for the
    /// cluster's metadata. Calling it again after success does nothing.
    /// - Throws: ``KafkaTransportError``: ``KafkaTransportError/Code/invalidConfiguration`` for
    ///   a property librdkafka rejects, ``KafkaTransportError/Code/clientCreationFailed``,
    ///   ``KafkaTransportError/Code/connectionFailed`` when no broker answered in time, and
    ///   ``KafkaTransportError/Code/shutDown`` after ``shutdown()``.
    public func start() async throws {
        let producer: RDKafkaProducer = try state.withLock { state throws(KafkaTransportError) in
            switch state {
            case .started(let producer): return producer
            case .shutDown:
                throw KafkaTransportError(code: .shutDown, message: "the Kafka transport \"\(name)\" is shut down")
            case .idle:
                var properties = configuration.librdkafkaProperties
                var statistics: KafkaStatisticsRecorder?
                // librdkafka accepts at most one day.
                let interval = min(Configuration.milliseconds(configuration.statisticsInterval), 86_400_000)
                let metrics = KafkaMetrics(destination: name, factory: metricsFactory ?? MetricsSystem.factory)
                if metrics.isRecording && interval > 0 {
                    // First: a statistics.interval.ms in `properties` comes later and wins.
                    properties.insert(("statistics.interval.ms", String(interval)), at: 0)
                    statistics = KafkaStatisticsRecorder(metrics: metrics)
                }
                let producer = try RDKafkaProducer(
                    name: name,
                    properties: properties,
                    deliveryTimeout: configuration.timeouts.delivery,
                    maximumTopicHandles: configuration.maximumTopicHandles,
                    statistics: statistics,
                    logger: logger
                )
                state = .started(producer)
                return producer
            }
        }
        let timeout = Configuration.milliseconds(configuration.timeouts.connect)
        let failure: String? = try await producer.withHandle { handle in
            guard let handle else { return "the producer could not be created" }
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let code = rd_kafka_metadata(handle, 0, nil, &metadata, Int32(clamping: timeout))
            defer { if let metadata { rd_kafka_metadata_destroy(metadata) } }
            guard code == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
                return "\(String(cString: rd_kafka_err2str(code))) [\(String(cString: rd_kafka_err2name(code)))]"
            }
            return metadata.pointee.broker_cnt > 0 ? nil : "the cluster reported no brokers"
        }
        if let failure {
            throw KafkaTransportError(
                code: .connectionFailed,
                message:
                    "no broker of \(configuration.bootstrapServers.joined(separator: ",")) answered a metadata "
                    + "request within \(configuration.timeouts.connect): \(failure); "
                    + "check bootstrap_servers and the security.protocol, ssl.* and sasl.* properties"
            )
        }
        logger.info(
            "Kafka transport connected",
            metadata: [
                "destination": "\(name)",
                "bootstrap_servers": "\(configuration.bootstrapServers.joined(separator: ","))",
            ]
        )
    }

    /// Delivers a batch; returns when every message has a result (acknowledged or failed).
    public func deliver(_ batch: [OutboxMessage]) async -> [DeliveryResult] {
        guard !batch.isEmpty else { return [] }
        let producer: RDKafkaProducer? = state.withLock { state in
            if case .started(let producer) = state { return producer }
            return nil
        }
        guard let producer else {
            return Array(repeating: .retryable("the Kafka transport \"\(name)\" is not started"), count: batch.count)
        }
        let records = encoder.encode(batch)
        for (index, errors) in records.droppedTraceContext {
            for error in errors {
                logger.debug(
                    "trace context header dropped",
                    metadata: [
                        "destination": "\(name)", "event_id": "\(batch[index].eventID)",
                        "row_id": "\(batch[index].rowID)", "header": "\(error.header)", "reason": "\(error.reason)",
                    ]
                )
            }
        }
        return await producer.deliver(records)
    }

    /// Waits for messages in flight (at most ``Configuration/Timeouts/flush``), then destroys
    /// the producer. Messages not acknowledged by then are purged and stay undelivered.
    public func shutdown() async {
        let producer: RDKafkaProducer? = state.withLock { state in
            defer { state = .shutDown }
            if case .started(let producer) = state { return producer }
            return nil
        }
        await producer?.stop(flushTimeout: configuration.timeouts.flush)
    }

    /// Asks the cluster about each topic, for `outbox-relay check`, without creating any.
    ///
    /// Uses a short-lived producer handle of its own (with `allow.auto.create.topics=false`),
    /// so it works whether or not the transport was started.
    /// - Throws: ``KafkaTransportError`` when the cluster cannot be reached or the handle cannot
    ///   be created.
    public func checkTopics(_ names: [String]) async throws -> [TopicCheck] {
        var properties = configuration.librdkafkaProperties.filter {
            $0.key != "enable.idempotence" && $0.key != "acks"
        }
        properties.append(("allow.auto.create.topics", "false"))
        let inspector = RDKafkaTopicInspector(
            properties: properties,
            timeout: configuration.timeouts.connect,
            bootstrapServers: configuration.bootstrapServers
        )
        defer { inspector.close() }
        return try await inspector.check(names)
    }

    /// Raises a fatal producer error the way a broken idempotence sequence would
    /// (`rd_kafka_test_fatal_error`), to test recovery (tests only, through `@testable import`).
    /// - Throws: ``KafkaTransportError`` after ``shutdown()``.
    func injectFatalErrorForTesting(reason: String) async throws {
        let producer: RDKafkaProducer? = state.withLock { state in
            if case .started(let producer) = state { return producer }
            return nil
        }
        try await producer?.injectFatalError(reason: reason)
    }

    /// How many librdkafka handles the started transport created (tests).
    func producerGeneration() async throws -> Int {
        let producer: RDKafkaProducer? = state.withLock { state in
            if case .started(let producer) = state { return producer }
            return nil
        }
        guard let producer else { return 0 }
        return try await producer.generation()
    }

    /// How many topic handles the started producer holds open (tests).
    func openTopicHandleCount() async throws -> Int {
        let producer: RDKafkaProducer? = state.withLock { state in
            if case .started(let producer) = state { return producer }
            return nil
        }
        guard let producer else { return 0 }
        return try await producer.openTopicHandleCount()
    }
}
