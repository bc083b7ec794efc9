import CoreMetrics
import OutboxRelay
import Prometheus

/// How the daemon exports ``RelayMetrics`` through swift-prometheus.
enum RelayPrometheus {
    /// Buckets of `outbox_relay_delivery_latency_seconds`: from a relay next to its database
    /// (milliseconds) to a backlog being worked off (minutes).
    static let latencyBuckets: [Duration] = [
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
        .seconds(30), .seconds(60), .seconds(300), .seconds(1800),
    ]

    /// A swift-metrics factory recording into `registry`.
    static func metricsFactory(_ registry: PrometheusCollectorRegistry) -> any MetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[RelayMetrics.Name.deliveryLatency] = latencyBuckets
        return factory
    }
}
