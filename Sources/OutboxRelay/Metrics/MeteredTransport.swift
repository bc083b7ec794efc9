import CoreMetrics

/// A transport wrapper that counts each delivery attempt by outcome and times each
/// acknowledged message from its time of recording (or its batch's claim) — the same numbers
/// for every transport, recorded once here instead of in each.
struct MeteredTransport: Transport {
    private let base: any Transport
    private let metrics: RelayMetrics.DestinationMetrics
    private let claimedAt: Timestamp

    init(_ base: any Transport, metrics: RelayMetrics.DestinationMetrics, claimedAt: Timestamp) {
        self.base = base
        self.metrics = metrics
        self.claimedAt = claimedAt
    }

    var name: String { base.name }

    func start() async throws { try await base.start() }

    func shutdown() async { await base.shutdown() }

    func deliver(_ batch: [OutboxMessage]) async -> [DeliveryResult] {
        let results = await base.deliver(batch)
        let now = Timestamp.now()
        var delivered = 0
        var retryable = 0
        var permanent = 0
        for (message, result) in zip(batch, results) {
            switch result {
            case .delivered:
                delivered += 1
                let latency = now.duration(since: message.timeOfRecording ?? claimedAt)
                metrics.latency.recordMicroseconds(max(0, latency.microseconds))
            case .retryable: retryable += 1
            case .permanent: permanent += 1
            }
        }
        if delivered > 0 { metrics.attemptsDelivered.increment(by: delivered) }
        if retryable > 0 { metrics.attemptsRetryable.increment(by: retryable) }
        if permanent > 0 { metrics.attemptsPermanent.increment(by: permanent) }
        return results
    }
}
