import CoreMetrics

/// The swift-metrics one ``WebhookTransport`` records, labelled with its name as
/// `destination` (the engine's metrics use the same label):
///
/// - `outbox_relay_endpoint_disabled{destination}` (gauge): 1 once the endpoint answered
///   410 Gone and the transport dead-letters everything routed to it, else 0.
/// - `outbox_relay_webhook_connections_opened_total{destination}` (counter): connections
///   libcurl opened for requests (`CURLINFO_NUM_CONNECTS` per request).
/// - `outbox_relay_webhook_connection_reuses_total{destination}` (counter): requests sent over
///   a connection that was already open. Reuse ratio:
///   `reuses / (reuses + opened)`; a falling ratio means connections are being dropped
///   (server `Connection: close`, idle timeouts shorter than the traffic gaps, TLS errors).
public struct WebhookMetrics: Sendable {
    /// The metric names, written once.
    public enum Name {
        public static let endpointDisabled = "outbox_relay_endpoint_disabled"
        public static let connectionsOpened = "outbox_relay_webhook_connections_opened_total"
        public static let connectionReuses = "outbox_relay_webhook_connection_reuses_total"
    }

    let endpointDisabled: Gauge
    let connectionsOpened: Counter
    let connectionReuses: Counter

    /// Creates the metrics of the transport named `destination`; the gauge starts at 0.
    init(destination: String, factory: any MetricsFactory) {
        let labels = [("destination", destination)]
        endpointDisabled = Gauge(label: Name.endpointDisabled, dimensions: labels, factory: factory)
        connectionsOpened = Counter(label: Name.connectionsOpened, dimensions: labels, factory: factory)
        connectionReuses = Counter(label: Name.connectionReuses, dimensions: labels, factory: factory)
        endpointDisabled.record(0)
    }

    /// A request finished: it opened `opened` connections, or reused one when 0 and it got
    /// as far as a connection.
    func requestFinished(openedConnections opened: Int, connected: Bool) {
        if opened > 0 {
            connectionsOpened.increment(by: opened)
        } else if connected {
            connectionReuses.increment()
        }
    }
}
