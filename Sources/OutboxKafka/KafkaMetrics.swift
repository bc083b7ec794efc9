import CoreMetrics

/// The swift-metrics one ``KafkaTransport`` records from librdkafka's statistics (emitted every
/// ``KafkaTransport/Configuration/statisticsInterval``, parsed on the producer thread), labelled
/// with the transport's name as `destination`:
///
/// - `outbox_relay_kafka_queue_messages{destination}` (gauge): messages in the producer's
///   queues, not yet acknowledged (librdkafka `msg_cnt`).
/// - `outbox_relay_kafka_queue_bytes{destination}` (gauge): their bytes (`msg_size`).
/// - `outbox_relay_kafka_broker_rtt_avg_seconds{destination,broker}` and
///   `outbox_relay_kafka_broker_rtt_p99_seconds{destination,broker}` (gauges): request
///   round-trip time to each broker over the last interval (`brokers[].rtt.avg`, `.p99`);
///   kept at the last value while an interval had no request. `broker` is the broker's
///   `host:port`.
/// - `outbox_relay_kafka_broker_tx_errors_total{destination,broker}` (counter): requests
///   that failed to be sent to the broker (`brokers[].txerrs`).
///
/// librdkafka's own brokers (the internal and logical ones) are left out.
public struct KafkaMetrics: Sendable {
    /// The metric names, written once.
    public enum Name {
        public static let queueMessages = "outbox_relay_kafka_queue_messages"
        public static let queueBytes = "outbox_relay_kafka_queue_bytes"
        public static let brokerRoundTripAverage = "outbox_relay_kafka_broker_rtt_avg_seconds"
        public static let brokerRoundTripP99 = "outbox_relay_kafka_broker_rtt_p99_seconds"
        public static let brokerTransmitErrors = "outbox_relay_kafka_broker_tx_errors_total"
    }

    let destination: String
    let factory: any MetricsFactory
    let queueMessages: Gauge
    let queueBytes: Gauge

    init(destination: String, factory: any MetricsFactory) {
        self.destination = destination
        self.factory = factory
        let labels = [("destination", destination)]
        queueMessages = Gauge(label: Name.queueMessages, dimensions: labels, factory: factory)
        queueBytes = Gauge(label: Name.queueBytes, dimensions: labels, factory: factory)
    }

    /// Whether a backend records them (`false` for swift-metrics' no-op factory): without one,
    /// librdkafka is not asked for statistics at all.
    var isRecording: Bool { !(factory is NOOPMetricsHandler) }
}

/// One statistics report of librdkafka, reduced to what ``KafkaMetrics`` exports.
struct KafkaStatisticsReport: Sendable, Hashable {
    struct Broker: Sendable, Hashable {
        /// `host:port`.
        var name: String
        /// Cumulative since the handle was created.
        var transmitErrors: Int64
        /// Requests in the interval's round-trip window; 0 when the averages mean nothing.
        var roundTripCount: Int64
        /// Microseconds.
        var roundTripAverage: Int64
        var roundTripP99: Int64
    }

    var queueMessages: Int64 = 0
    var queueBytes: Int64 = 0
    var brokers: [Broker] = []

    /// Reads a librdkafka statistics JSON document (see librdkafka's STATISTICS.md): the
    /// top-level `msg_cnt` and `msg_size`, and per broker `nodename`, `source`, `txerrs` and
    /// `rtt`. Everything else (topics, partitions) is skipped without being built.
    /// - Throws: ``JSONParseError`` when the document does not parse.
    init(json bytes: UnsafeBufferPointer<UInt8>) throws(JSONParseError) {
        var parser = JSONParser(bytes: bytes)
        if try parser.beginObject() { return }
        repeat {
            enum Key { case messages, bytes, brokers, other }
            let key: Key = try parser.readKey { key in
                if key.elementsEqual("msg_cnt".utf8) { return .messages }
                if key.elementsEqual("msg_size".utf8) { return .bytes }
                if key.elementsEqual("brokers".utf8) { return .brokers }
                return .other
            }
            switch key {
            case .messages: queueMessages = try parser.parseValue(depth: 1).int64Value ?? 0
            case .bytes: queueBytes = try parser.parseValue(depth: 1).int64Value ?? 0
            case .brokers: brokers = Self.brokers(in: try parser.parseValue(depth: 1))
            case .other: _ = try parser.skipValue()
            }
        } while try parser.nextMember()
    }

    init(queueMessages: Int64, queueBytes: Int64, brokers: [Broker]) {
        self.queueMessages = queueMessages
        self.queueBytes = queueBytes
        self.brokers = brokers
    }

    private static func brokers(in value: JSONValue) -> [Broker] {
        guard let object = value.objectValue else { return [] }
        return object.compactMap { _, broker in
            guard let broker = broker.objectValue, let name = broker["nodename"]?.stringValue, !name.isEmpty else {
                return nil
            }
            let source = broker["source"]?.stringValue ?? ""
            guard source != "internal" && source != "logical" else { return nil }
            let rtt = broker["rtt"]?.objectValue
            return Broker(
                name: name,
                transmitErrors: broker["txerrs"]?.int64Value ?? 0,
                roundTripCount: rtt?["cnt"]?.int64Value ?? 0,
                roundTripAverage: rtt?["avg"]?.int64Value ?? 0,
                roundTripP99: rtt?["p99"]?.int64Value ?? 0
            )
        }
    }
}

/// Turns statistics reports into ``KafkaMetrics``: creates the per-broker metrics as brokers
/// appear and converts librdkafka's cumulative error counts into counter increments.
///
/// Used only on the producer thread (librdkafka calls the statistics callback from
/// `rd_kafka_poll`/`rd_kafka_flush` there).
final class KafkaStatisticsRecorder {
    private struct BrokerMetrics {
        let roundTripAverage: Gauge
        let roundTripP99: Gauge
        let transmitErrors: Counter
        var lastTransmitErrors: Int64 = 0
    }

    let metrics: KafkaMetrics
    private var brokers: [String: BrokerMetrics] = [:]

    init(metrics: KafkaMetrics) {
        self.metrics = metrics
    }

    /// Records one report.
    func record(_ report: KafkaStatisticsReport) {
        metrics.queueMessages.record(report.queueMessages)
        metrics.queueBytes.record(report.queueBytes)
        for broker in report.brokers {
            var recorded = brokers[broker.name] ?? makeBrokerMetrics(broker.name)
            if broker.roundTripCount > 0 {
                recorded.roundTripAverage.record(Double(broker.roundTripAverage) / 1_000_000)
                recorded.roundTripP99.record(Double(broker.roundTripP99) / 1_000_000)
            }
            // A recreated handle (after a fatal error) counts from 0 again.
            let increase =
                broker.transmitErrors >= recorded.lastTransmitErrors
                ? broker.transmitErrors - recorded.lastTransmitErrors : broker.transmitErrors
            if increase > 0 { recorded.transmitErrors.increment(by: increase) }
            recorded.lastTransmitErrors = broker.transmitErrors
            brokers[broker.name] = recorded
        }
    }

    /// A new handle reports cumulative counts from 0.
    func handleRecreated() {
        for name in brokers.keys { brokers[name]?.lastTransmitErrors = 0 }
    }

    private func makeBrokerMetrics(_ broker: String) -> BrokerMetrics {
        let labels = [("destination", metrics.destination), ("broker", broker)]
        let factory = metrics.factory
        return BrokerMetrics(
            roundTripAverage: Gauge(
                label: KafkaMetrics.Name.brokerRoundTripAverage,
                dimensions: labels,
                factory: factory
            ),
            roundTripP99: Gauge(label: KafkaMetrics.Name.brokerRoundTripP99, dimensions: labels, factory: factory),
            transmitErrors: Counter(label: KafkaMetrics.Name.brokerTransmitErrors, dimensions: labels, factory: factory)
        )
    }
}
