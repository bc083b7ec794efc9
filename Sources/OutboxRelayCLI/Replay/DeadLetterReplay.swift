import Logging
import OutboxRelay

/// Replays dead-letter entries through the relay's own engine, transports, retry policies and
/// signing: each failed message to its own destination only, undecodable and unrouted rows
/// decoded and routed again.
///
/// Entries are grouped by destination; each group runs one ``RelayEngine`` (with freshly built
/// transports) over a ``ReplayedRowsSource`` holding the group's rows, oldest first, so the
/// engine keeps per-aggregate order and resends after failures exactly as `run` does. What the
/// engine completed becomes a ``DeadLetterReplayRecord``.
struct DeadLetterReplay {
    /// What became of one entry.
    enum Outcome: Sendable {
        case delivered
        case failed(String)
        case notAttempted(String)
    }

    /// The loaded configuration for each group (transports are started once per engine, so
    /// every group gets its own).
    let loadConfiguration: () throws -> RelayConfiguration
    let logger: Logger

    /// The groups, in first-entry order: a destination, or `nil` for entries routed again.
    static func groups(_ entries: [DeadLetterEntry]) -> [(destination: String?, entries: [DeadLetterEntry])] {
        var order: [String?] = []
        var byDestination: [String?: [DeadLetterEntry]] = [:]
        for entry in entries {
            let key = entry.deadLetter.destination
            if byDestination[key] == nil { order.append(key) }
            byDestination[key, default: []].append(entry)
        }
        return order.map { ($0, byDestination[$0]!) }
    }

    /// Replays `entries`; returns what to record and each entry's outcome (in entry order).
    func run(_ entries: [DeadLetterEntry]) async -> (record: DeadLetterReplayRecord, outcomes: [Int64: Outcome]) {
        var record = DeadLetterReplayRecord()
        var outcomes: [Int64: Outcome] = [:]
        for group in Self.groups(entries) {
            do {
                try await replay(group.entries, to: group.destination, into: &record, outcomes: &outcomes)
            } catch {
                for entry in group.entries where outcomes[entry.id] == nil {
                    outcomes[entry.id] = .notAttempted("\(error)")
                }
            }
        }
        return (record, outcomes)
    }

    private struct Unconfigured: Error, CustomStringConvertible {
        var destination: String
        var description: String { "no transport named \(destination) is configured any more" }
    }

    private func replay(
        _ entries: [DeadLetterEntry],
        to destination: String?,
        into record: inout DeadLetterReplayRecord,
        outcomes: inout [Int64: Outcome]
    ) async throws {
        let configuration = try loadConfiguration()
        let source = configuration.source
        var transports = configuration.transports
        var routing = try RoutingTable(rules: configuration.routing.rules, unrouted: .deadLetter)
        if let destination {
            guard let transport = transports.first(where: { $0.name == destination }) else {
                for transport in transports { await transport.shutdown() }
                throw Unconfigured(destination: destination)
            }
            for unused in transports where unused.name != destination { await unused.shutdown() }
            transports = [transport]
            routing = try RoutingTable(rules: [.init(events: try EventTypePattern("*"), to: [destination])])
        }

        // One row per id, oldest first: outbox ids are in outbox order; dispatcher rows keep the
        // order their failures were recorded in (the engine orders each aggregate by version).
        var entriesByRow: [OutboxRowID: [DeadLetterEntry]] = [:]
        var rows: [OutboxRow] = []
        for entry in entries {
            let id = entry.deadLetter.rowID
            if entriesByRow[id] == nil { rows.append(OutboxRow(id: id, payload: entry.deadLetter.payload)) }
            entriesByRow[id, default: []].append(entry)
        }
        if source.flavour == .outbox { rows.sort { $0.id < $1.id } }
        var eventIDs: [OutboxRowID: Set<String>] = [:]
        for (id, rowEntries) in entriesByRow where rowEntries.allSatisfy({ $0.deadLetter.eventID != nil }) {
            eventIDs[id] = Set(rowEntries.compactMap(\.deadLetter.eventID))
        }

        let replayed = ReplayedRowsSource(flavour: source.flavour, table: source.table, rows: rows)
        let engine = try RelayEngine(
            source: replayed,
            transports: transports,
            routing: routing,
            expander: ReplaySelection(base: configuration.expander, eventIDs: eventIDs),
            configuration: configuration.engine,
            logger: logger
        )
        let drained: Result<RelaySummary, any Error>
        do {
            drained = .success(try await engine.drain())
        } catch {
            drained = .failure(error)
        }
        let completion = replayed.completion
        var lettersByRow: [OutboxRowID: [DeadLetter]] = [:]
        for letter in completion.deadLetters { lettersByRow[letter.rowID, default: []].append(letter) }

        for row in rows {
            let rowEntries = entriesByRow[row.id] ?? []
            guard completion.rows.contains(row.id) else {
                let reason: String
                if case .failure(let error) = drained { reason = "\(error)" } else { reason = "the replay stopped" }
                for entry in rowEntries { outcomes[entry.id] = .notAttempted(reason) }
                continue
            }
            var letters = lettersByRow[row.id] ?? []
            for entry in rowEntries {
                let match = letters.firstIndex { letter in
                    entry.deadLetter.eventID == nil || letter.eventID == nil
                        || letter.eventID == entry.deadLetter.eventID
                }
                guard let match else {
                    record.delivered.append(entry.id)
                    outcomes[entry.id] = .delivered
                    continue
                }
                let letter = letters.remove(at: match)
                var failed = entry
                failed.deadLetter.eventID = letter.eventID ?? entry.deadLetter.eventID
                failed.deadLetter.eventType = letter.eventType ?? entry.deadLetter.eventType
                failed.deadLetter.destination = destination ?? letter.destination
                failed.deadLetter.attempts = entry.deadLetter.attempts + letter.attempts
                failed.deadLetter.lastError = letter.lastError
                failed.deadLetter.lastFailedAt = letter.lastFailedAt
                record.failed.append(failed)
                outcomes[entry.id] = .failed(letter.lastError)
            }
            record.added.append(contentsOf: letters)
        }
    }
}
