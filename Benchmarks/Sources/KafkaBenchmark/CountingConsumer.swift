import OutboxRelay
import Synchronization

/// The in-process reference destination: counts messages, nothing else, so the in-process
/// figure is the relay's own ceiling (source + engine).
final class CountingConsumer: MessageConsumer {
    private let count = Atomic<Int>(0)

    var messages: Int { count.load(ordering: .relaxed) }

    func handle(_ message: OutboxMessage) async throws {
        count.wrappingAdd(1, ordering: .relaxed)
    }
}
