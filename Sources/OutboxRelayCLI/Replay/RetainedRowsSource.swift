import OutboxRelay
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An ``OutboxSource`` for `outbox-relay replay`: pages through every row of the real table in
/// relay order (delivered and marked ones too, through ``OutboxRowLookup``), paced to a row
/// rate, and keeps what the engine completes instead of marking anything.
final class RetainedRowsSource: OutboxSource {
    /// Progress so far.
    struct Progress: Sendable {
        var rowsRead = 0
        var rowsFinished = 0
        /// The last row up to which every row was completed, with no failed delivery in its batch
        /// or before it.
        var lastFinished: OutboxRowID?
        /// Messages the destination gave up on, and rows that could not be decoded.
        var failures: [DeadLetter] = []
        var undecodableRows = 0
        /// Rows read but not yet completed (in order), and the completed ones among them.
        var pending: [OutboxRowID] = []
        var pendingStart = 0
        var completed: Set<OutboxRowID> = []
        var blocked = false
        var exhausted = false
        var started = false
    }

    let flavour: OutboxFlavour
    let table: String
    private let lookup: any OutboxRowLookup
    private let start: OutboxCursor?
    private let rowLimit: Int?
    private let rowsPerSecond: Double?
    private let destination: String
    private let showsProgress: Bool
    private let clock = ContinuousClock()
    private let startedAt: ContinuousClock.Instant
    private let state = Mutex(Progress())

    init(
        lookup: any OutboxRowLookup,
        flavour: OutboxFlavour,
        table: String,
        destination: String,
        after start: OutboxCursor?,
        limit: Int?,
        rowsPerSecond: Double?
    ) {
        self.lookup = lookup
        self.flavour = flavour
        self.table = table
        self.destination = destination
        self.start = start
        self.rowLimit = limit
        self.rowsPerSecond = rowsPerSecond
        self.showsProgress = isatty(STDERR_FILENO) == 1
        self.startedAt = clock.now
    }

    var progress: Progress { state.withLock { $0 } }

    func open() async throws {}

    func fetch(limit: Int, after cursor: OutboxCursor?) async throws -> [OutboxRow] {
        // The engine reads "from the start" once caught up: for a replay that is the end.
        let (read, done) = state.withLock { progress -> (Int, Bool) in
            defer { progress.started = true }
            return (progress.rowsRead, progress.exhausted || (cursor == nil && progress.started))
        }
        if done { return [] }
        var count = limit
        if let rowLimit { count = min(count, rowLimit - read) }
        if let rowsPerSecond {
            count = min(count, max(1, Int(rowsPerSecond.rounded(.up))))
            let due = startedAt + .seconds(Double(read) / rowsPerSecond)
            if due > clock.now { try? await Task.sleep(until: due, clock: clock) }
        }
        guard count > 0 else {
            state.withLock { $0.exhausted = true }
            return []
        }
        let rows = try await lookup.rows(after: cursor ?? start, limit: count)
        state.withLock { progress in
            progress.rowsRead += rows.count
            progress.pending.append(contentsOf: rows.map(\.id))
            if rows.count < count { progress.exhausted = true }
        }
        return rows
    }

    func complete(rows: [OutboxRowID], deadLetters: [DeadLetter]) async throws {
        let line = state.withLock { progress -> String in
            progress.completed.formUnion(rows)
            progress.rowsFinished += rows.count
            for letter in deadLetters {
                if letter.destination == nil { progress.undecodableRows += 1 } else { progress.failures.append(letter) }
            }
            // A failed delivery pins the resume point before its batch; undecodable rows are
            // skipped and do not (a resumed replay would only skip them again).
            if deadLetters.contains(where: { $0.destination != nil }) { progress.blocked = true }
            while !progress.blocked, progress.pendingStart < progress.pending.count,
                progress.completed.remove(progress.pending[progress.pendingStart]) != nil
            {
                progress.lastFinished = progress.pending[progress.pendingStart]
                progress.pendingStart += 1
            }
            if progress.pendingStart > 4096 {
                progress.pending.removeFirst(progress.pendingStart)
                progress.pendingStart = 0
            }
            return "\rreplay to \(destination): \(progress.rowsFinished) rows, last finished row "
                + "\(progress.lastFinished?.description ?? "-")"
        }
        if showsProgress { Self.writeToStandardError(line) }
    }

    func close() async {
        if showsProgress { Self.writeToStandardError("\n") }
    }

    private static func writeToStandardError(_ text: String) {
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}

/// The expander of `outbox-relay replay`: the configured one (if any), then only the messages
/// the routes send to the destination and the filters select.
final class ReplayFilter: MessageExpander {
    let base: (any MessageExpander)?
    let destination: String
    let routing: RoutingTable
    let eventType: EventTypePattern?
    let since: Timestamp?
    let until: Timestamp?
    /// Messages left out by the routes or filters.
    let skipped = Mutex(0)

    init(
        base: (any MessageExpander)?,
        destination: String,
        routing: RoutingTable,
        eventType: EventTypePattern?,
        since: Timestamp?,
        until: Timestamp?
    ) {
        self.base = base
        self.destination = destination
        self.routing = routing
        self.eventType = eventType
        self.since = since
        self.until = until
    }

    func expand(_ message: OutboxMessage) throws -> [OutboxMessage] {
        let messages = try base?.expand(message) ?? [message]
        let kept = messages.filter(selects)
        if kept.count != messages.count { skipped.withLock { $0 += messages.count - kept.count } }
        return kept
    }

    private func selects(_ message: OutboxMessage) -> Bool {
        guard routing.destinations(for: message.eventType).contains(destination) else { return false }
        if let eventType, !eventType.matches(message.eventType) { return false }
        if since != nil || until != nil {
            guard let time = message.timeOfRecording else { return false }
            if let since, time < since { return false }
            if let until, !(time < until) { return false }
        }
        return true
    }
}
