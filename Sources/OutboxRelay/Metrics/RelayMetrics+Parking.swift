import CoreMetrics

extension RelayMetrics {
    /// The gauges of one destination's parked queue: `outbox_relay_parked_messages`,
    /// `outbox_relay_parked_bytes` and `outbox_relay_parking_at_cap`, each `{destination}`.
    struct ParkedQueueGauges: Sendable {
        let messages: Gauge
        let bytes: Gauge
        let atCap: Gauge

        init(destination: String, factory: any MetricsFactory) {
            let labels = [("destination", destination)]
            messages = Gauge(label: Name.parkedMessages, dimensions: labels, factory: factory)
            bytes = Gauge(label: Name.parkedBytes, dimensions: labels, factory: factory)
            atCap = Gauge(label: Name.parkingAtCap, dimensions: labels, factory: factory)
            record(ParkedQueueLevel())
        }

        func record(_ level: ParkedQueueLevel) {
            messages.record(level.entries)
            bytes.record(level.bytes)
            atCap.record(level.isAtCap ? 1 : 0)
        }
    }

    /// What the destinations have parked now; a destination left out has nothing parked.
    func recordParkedQueues(_ levels: [String: ParkedQueueLevel]) {
        for (destination, gauges) in parkedQueues { gauges.record(levels[destination] ?? ParkedQueueLevel()) }
    }
}
