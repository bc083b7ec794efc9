import OutboxRelay

/// A transport's own part of `outbox-relay check`.
///
/// `check` starts every configured transport (``Transport/start()`` must fail with a clear
/// error when the transport cannot deliver) and then, for transports that conform, asks them
/// to check the destinations the routing table sends them to — the Kafka transport asks the
/// cluster about each topic, for example. Plugin transports conform the same way.
public protocol DestinationChecking {
    /// Checks, after ``Transport/start()`` succeeded, that what `routing` sends this transport
    /// can be delivered. Returns one line per finding (`check` prints them under the
    /// transport's `ok` line); throw to fail the check.
    func checkDestinations(routing: RoutingTable) async throws -> [String]
}
