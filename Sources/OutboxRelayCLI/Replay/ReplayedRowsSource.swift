import OutboxRelay
import Synchronization

/// An ``OutboxSource`` over a fixed list of rows, for replays: the engine reads them in the
/// given order and what it completes (delivered rows and new dead letters) is kept for the
/// caller instead of being written anywhere.
///
/// Like a real source it returns only rows not completed yet, so ``RelayEngine/drain()`` ends
/// once every row was completed.
final class ReplayedRowsSource: OutboxSource {
    /// What the engine completed.
    struct Completion: Sendable {
        var rows: Set<OutboxRowID> = []
        var deadLetters: [DeadLetter] = []
    }

    let flavour: OutboxFlavour
    let table: String
    private let rows: [OutboxRow]
    private let positions: [OutboxRowID: Int]
    private let state = Mutex(Completion())

    /// - Parameter rows: the rows in replay order, each id once.
    init(flavour: OutboxFlavour, table: String, rows: [OutboxRow]) {
        self.flavour = flavour
        self.table = table
        self.rows = rows
        var positions: [OutboxRowID: Int] = [:]
        for (index, row) in rows.enumerated() { positions[row.id] = index }
        self.positions = positions
    }

    /// What the engine completed so far.
    var completion: Completion { state.withLock { $0 } }

    func open() async throws {}

    func fetch(limit: Int, after cursor: OutboxCursor?) async throws -> [OutboxRow] {
        let start = cursor.flatMap { positions[$0.id] }.map { $0 + 1 } ?? 0
        let completed = state.withLock { $0.rows }
        var batch: [OutboxRow] = []
        var index = start
        while index < rows.count && batch.count < limit {
            if !completed.contains(rows[index].id) { batch.append(rows[index]) }
            index += 1
        }
        return batch
    }

    func complete(rows: [OutboxRowID], deadLetters: [DeadLetter]) async throws {
        state.withLock { completion in
            completion.rows.formUnion(rows)
            completion.deadLetters.append(contentsOf: deadLetters)
        }
    }

    func close() async {}
}

/// The expander of a replay: the configured one (if any), then only the messages the replayed
/// entries stand for, so a row that expands into several messages re-sends only the failed one.
struct ReplaySelection: MessageExpander {
    struct NoLongerThere: Error, CustomStringConvertible {
        var eventIDs: Set<String>
        var description: String {
            "the row no longer yields the event \(eventIDs.sorted().joined(separator: ", ")) (its payload changed?)"
        }
    }

    let base: (any MessageExpander)?
    /// Per row, the event ids to keep; rows not listed keep every message.
    let eventIDs: [OutboxRowID: Set<String>]

    func expand(_ message: OutboxMessage) throws -> [OutboxMessage] {
        let messages = try base?.expand(message) ?? [message]
        guard base != nil, let wanted = eventIDs[message.rowID] else { return messages }
        let kept = messages.filter { wanted.contains($0.eventID) }
        if kept.isEmpty { throw NoLongerThere(eventIDs: wanted) }
        return kept
    }
}
