import OutboxRelay
import Synchronization

/// A destination for engine tests on a real source: down (every message retryable, "connection
/// refused") until switched up, and then refusing some aggregates (HTTP 503) if told to.
public final class SwitchableDestination: Transport {
    public let name: String
    private let state = Mutex((up: false, refused: Set<String>(), received: [OutboxMessage](), calls: 0))

    public init(name: String, up: Bool = false, refusing refused: Set<String> = []) {
        self.name = name
        state.withLock {
            $0.up = up
            $0.refused = refused
        }
    }

    /// Switches the destination up or down; while up it refuses the aggregates in `refused`.
    public func setUp(_ up: Bool, refusing refused: Set<String> = []) {
        state.withLock {
            $0.up = up
            $0.refused = refused
        }
    }

    /// What it acknowledged, in order.
    public var received: [OutboxMessage] { state.withLock { $0.received } }
    /// How many times the engine called ``deliver(_:)``.
    public var calls: Int { state.withLock { $0.calls } }

    public func deliver(_ batch: [OutboxMessage]) async -> [DeliveryResult] {
        state.withLock { state in
            state.calls += 1
            guard state.up else { return Array(repeating: .retryable("connection refused"), count: batch.count) }
            return batch.map { message in
                if state.refused.contains(message.aggregateRootID ?? "") { return .retryable("HTTP 503") }
                state.received.append(message)
                return .delivered
            }
        }
    }
}
