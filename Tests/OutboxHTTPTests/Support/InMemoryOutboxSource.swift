import OutboxRelay
import Synchronization

/// An `outbox`-flavour table kept in memory, for driving the real ``RelayEngine`` against a
/// real webhook server without a database. (The PostgreSQL end-to-end test uses the real
/// source.) It keeps what PHP's table keeps: rows in id order, a consumed flag, and the
/// dead letters the engine wrote with them.
final class InMemoryOutboxSource: OutboxSource {
    private struct State {
        var rows: [OutboxRow]
        var consumed: Set<OutboxRowID> = []
        var deadLetters: [DeadLetter] = []
    }

    private let state: Mutex<State>
    let flavour = OutboxFlavour.outbox
    let table = "outbox_messages"

    init(rows: [OutboxRow]) {
        state = Mutex(State(rows: rows.sorted { $0.id < $1.id }))
    }

    /// Rows holding these messages' envelopes.
    convenience init(messages: [OutboxMessage]) {
        self.init(rows: messages.map { OutboxRow(id: $0.rowID, payload: $0.envelope) })
    }

    func open() async throws {}

    func fetch(limit: Int, after cursor: OutboxCursor?) async throws -> [OutboxRow] {
        state.withLock { state in
            var result: [OutboxRow] = []
            for row in state.rows where result.count < limit {
                if !state.consumed.contains(row.id) && (cursor == nil || cursor!.id < row.id) { result.append(row) }
            }
            return result
        }
    }

    func complete(rows: [OutboxRowID], deadLetters: [DeadLetter]) async throws {
        state.withLock { state in
            state.consumed.formUnion(rows)
            state.deadLetters.append(contentsOf: deadLetters)
        }
    }

    func close() async {}

    var consumedCount: Int { state.withLock { $0.consumed.count } }
    var deadLetters: [DeadLetter] { state.withLock { $0.deadLetters } }
}
