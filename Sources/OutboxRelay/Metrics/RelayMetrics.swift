import CoreMetrics

/// The relay's metrics, recorded through swift-metrics: plug in any backend with
/// `MetricsSystem.bootstrap(_:)` (the daemon exports them in Prometheus text format), or pass a
/// factory to ``RelayEngine/init(source:transports:routing:expander:configuration:clock:metrics:logger:)``.
///
/// ``RelayEngine`` records them where it executes its state machine's actions; each
/// transport's deliveries go through a ``MeteredTransport``. Names and labels:
///
/// - `outbox_relay_rows_read_total{table}` (counter): rows claimed.
/// - `outbox_relay_rows_completed_total{table,action}` (counter): rows marked or deleted
///   (`action` is `mark` or `delete`).
/// - `outbox_relay_messages_delivered_total{destination}` (counter): messages a destination
///   finished with an acknowledgement, from claimed batches and from its parked queue.
/// - `outbox_relay_delivery_attempts_total{destination,outcome}` (counter): per message and
///   attempt, `delivered`, `retryable` or `permanent`.
/// - `outbox_relay_dead_letters_total{destination,reason}` (counter): dead letters recorded;
///   `undecodable` and `unrouted` with an empty destination, `delivery_failed` per destination
///   (from claimed batches and from its parked queue).
/// - `outbox_relay_delivery_latency_seconds{destination}` (timer): time of recording (or of the
///   claim when the message has none) to acknowledgement.
/// - `outbox_relay_rows_in_flight{table}`, `outbox_relay_batches_in_flight{table}` (gauges):
///   claimed, not yet completed.
/// - `outbox_relay_source_errors_total{table}` (counter): failed reads and completions.
/// - `outbox_relay_active{table}` (gauge): 1 while this relay is the active one, 0 while it
///   connects, waits as standby, or stopped.
/// - `outbox_relay_backlog_rows{table}`, `outbox_relay_oldest_undelivered_age_seconds{table}`
///   (gauges): from the source's status query every
///   ``RelayEngine/Configuration/statusInterval`` (the age is 0 when the backlog is empty).
/// - `outbox_relay_parked_messages{destination}`, `outbox_relay_parked_bytes{destination}`
///   (gauges): messages (and their stored payload bytes) a destination has parked, written or
///   about to be with their batch (``ParkedDelivery``).
/// - `outbox_relay_parking_at_cap{destination}` (gauge): 1 while that destination's parked queue
///   is at `relay.max_parked_messages` or `relay.max_parked_bytes` (the relay claims no rows
///   then), else 0.
public struct RelayMetrics: Sendable {
    /// The metric names, written once.
    public enum Name {
        public static let rowsRead = "outbox_relay_rows_read_total"
        public static let rowsCompleted = "outbox_relay_rows_completed_total"
        public static let messagesDelivered = "outbox_relay_messages_delivered_total"
        public static let deliveryAttempts = "outbox_relay_delivery_attempts_total"
        public static let deadLetters = "outbox_relay_dead_letters_total"
        public static let deliveryLatency = "outbox_relay_delivery_latency_seconds"
        public static let rowsInFlight = "outbox_relay_rows_in_flight"
        public static let batchesInFlight = "outbox_relay_batches_in_flight"
        public static let sourceErrors = "outbox_relay_source_errors_total"
        public static let active = "outbox_relay_active"
        public static let backlogRows = "outbox_relay_backlog_rows"
        public static let oldestUndeliveredAge = "outbox_relay_oldest_undelivered_age_seconds"
        // Parking (``RelayMetrics/ParkedQueueGauges``).
        public static let parkedMessages = "outbox_relay_parked_messages"
        public static let parkedBytes = "outbox_relay_parked_bytes"
        public static let parkingAtCap = "outbox_relay_parking_at_cap"
    }

    /// Why a dead letter was recorded (the `reason` label).
    public enum DeadLetterReason: String, Sendable, CaseIterable {
        /// The row could not be decoded (no destination).
        case undecodable
        /// No route matched and the routing table says `unrouted: dead-letter` (no destination).
        case unrouted
        /// A destination rejected the message or its retries ran out.
        case deliveryFailed = "delivery_failed"
    }

    /// The metrics of one destination.
    struct DestinationMetrics: Sendable {
        let delivered: Counter
        let attemptsDelivered: Counter
        let attemptsRetryable: Counter
        let attemptsPermanent: Counter
        let deadLetters: Counter
        let latency: CoreMetrics.Timer

        init(destination: String, factory: any MetricsFactory) {
            let labels = [("destination", destination)]
            delivered = Counter(label: Name.messagesDelivered, dimensions: labels, factory: factory)
            func attempts(_ outcome: String) -> Counter {
                Counter(label: Name.deliveryAttempts, dimensions: labels + [("outcome", outcome)], factory: factory)
            }
            attemptsDelivered = attempts("delivered")
            attemptsRetryable = attempts("retryable")
            attemptsPermanent = attempts("permanent")
            deadLetters = Counter(
                label: Name.deadLetters,
                dimensions: labels + [("reason", DeadLetterReason.deliveryFailed.rawValue)],
                factory: factory
            )
            latency = CoreMetrics.Timer(label: Name.deliveryLatency, dimensions: labels, factory: factory)
        }
    }

    private let rowsRead: Counter
    private let rowsCompleted: Counter
    private let undecodable: Counter
    private let unrouted: Counter
    private let rowsInFlight: Gauge
    private let batchesInFlight: Gauge
    private let sourceErrors: Counter
    private let active: Gauge
    private let backlogRows: Gauge
    private let oldestUndeliveredAge: Gauge
    let destinations: [String: DestinationMetrics]
    /// Per destination: its parked queue's gauges (``recordParkedQueues(_:)``).
    let parkedQueues: [String: ParkedQueueGauges]
    /// Whether a backend records them (`false` for swift-metrics' no-op factory).
    let isRecording: Bool

    /// Creates the metrics of a relay of `table` to `destinations`.
    /// - Parameter afterDelivery: the `action` label of completed rows.
    public init(
        table: String,
        destinations: some Sequence<String>,
        afterDelivery: AfterDelivery,
        factory: any MetricsFactory = MetricsSystem.factory
    ) {
        let table = [("table", table)]
        rowsRead = Counter(label: Name.rowsRead, dimensions: table, factory: factory)
        rowsCompleted = Counter(
            label: Name.rowsCompleted,
            dimensions: table + [("action", afterDelivery.rawValue)],
            factory: factory
        )
        func planLetters(_ reason: DeadLetterReason) -> Counter {
            Counter(
                label: Name.deadLetters,
                dimensions: [("destination", ""), ("reason", reason.rawValue)],
                factory: factory
            )
        }
        undecodable = planLetters(.undecodable)
        unrouted = planLetters(.unrouted)
        rowsInFlight = Gauge(label: Name.rowsInFlight, dimensions: table, factory: factory)
        batchesInFlight = Gauge(label: Name.batchesInFlight, dimensions: table, factory: factory)
        sourceErrors = Counter(label: Name.sourceErrors, dimensions: table, factory: factory)
        active = Gauge(label: Name.active, dimensions: table, factory: factory)
        backlogRows = Gauge(label: Name.backlogRows, dimensions: table, factory: factory)
        oldestUndeliveredAge = Gauge(label: Name.oldestUndeliveredAge, dimensions: table, factory: factory)
        var byName: [String: DestinationMetrics] = [:]
        for destination in destinations {
            byName[destination] = DestinationMetrics(destination: destination, factory: factory)
        }
        self.destinations = byName
        self.parkedQueues = Dictionary(
            uniqueKeysWithValues: byName.keys.map { ($0, ParkedQueueGauges(destination: $0, factory: factory)) }
        )
        self.isRecording = !(factory is NOOPMetricsHandler)
        rowsInFlight.record(0)
        batchesInFlight.record(0)
        active.record(0)
    }

    // MARK: - Recording

    /// A batch of `rows` rows was claimed.
    func claimed(rows: Int) {
        rowsRead.increment(by: rows)
    }

    /// A batch's rows were marked or deleted, with its dead letters.
    func completed(rows: Int, deadLetters: [DeadLetter]) {
        rowsCompleted.increment(by: rows)
        for letter in deadLetters {
            if let destination = letter.destination {
                destinations[destination]?.deadLetters.increment()
            } else if letter.eventID == nil {
                undecodable.increment()
            } else {
                unrouted.increment()
            }
        }
    }

    /// A destination finished a batch, with `count` messages acknowledged.
    func delivered(_ count: Int, to destination: String) {
        if count > 0 { destinations[destination]?.delivered.increment(by: count) }
    }

    /// The parked queue of `destination` set `count` messages aside in the dead-letter table.
    func parkedDeadLettered(_ count: Int, at destination: String) {
        if count > 0 { destinations[destination]?.deadLetters.increment(by: count) }
    }

    /// Rows and batches claimed and not yet completed.
    func recordInFlight(rows: Int, batches: Int) {
        rowsInFlight.record(rows)
        batchesInFlight.record(batches)
    }

    /// A read or a completion failed.
    func sourceFailed() {
        sourceErrors.increment()
    }

    /// The relay became the active one (`true`), or stopped or waits as standby (`false`).
    func setActive(_ isActive: Bool) {
        active.record(isActive ? 1 : 0)
    }

    /// The source's status query answered.
    func recordStatus(_ status: OutboxStatus) {
        backlogRows.record(status.backlog)
        let age = status.oldestUndeliveredAge.map { max(0, $0.seconds) } ?? 0
        oldestUndeliveredAge.record(age)
    }

    /// Wraps a transport so its deliveries are counted; `claimedAt` stands in for the time of
    /// recording of messages without one.
    func metered(_ transport: any Transport, claimedAt: Timestamp) -> any Transport {
        guard let metrics = destinations[transport.name] else { return transport }
        return MeteredTransport(transport, metrics: metrics, claimedAt: claimedAt)
    }
}
