import ArgumentParser
import OutboxRelay

/// `outbox-relay replay --config FILE --destination NAME [filters] [--after-row ID] [--limit N]
/// [--max-rate N/s] [--dry-run]`.
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Delivers the rows still in the table (delivered ones too) again, to one destination only.",
        discussion: """
            For backfilling a new endpoint or rebuilding a topic: every row in relay order (marked rows \
            and rows kept by retention included) whose messages the routes send to NAME goes again to \
            NAME only, with its retry policy, signing and per-aggregate order. Marks, other destinations \
            and the dead-letter table are not touched. It prints the last row it finished: resume with \
            --after-row. Exit 0 when every selected message was delivered, 1 otherwise.
            """
    )

    @Option(name: .long, help: "The YAML configuration file.")
    var config: String

    @Option(name: .long, help: "The transport to deliver to (only messages the routes send it).")
    var destination: String

    @Option(name: .long, help: "Only messages whose event type matches this glob, with the routes' syntax.")
    var eventType: String?

    @Option(name: .long, help: "Only messages recorded at or after TIME (or DURATION ago, e.g. 2h).")
    var since: String?

    @Option(name: .long, help: "Only messages recorded before TIME (or DURATION ago).")
    var until: String?

    @Option(name: .long, help: "Start after this row (the last row a previous replay finished).")
    var afterRow: String?

    @Option(name: .long, help: "Read at most N rows.")
    var limit: Int?

    @Option(name: .long, help: "At most N rows per second, e.g. 200/s.")
    var maxRate: String?

    @Flag(name: .long, help: "Count what would be sent, and send nothing.")
    var dryRun = false

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let now = Timestamp.now()
        let pattern = try eventType.map { text in
            do { return try EventTypePattern(text) } catch { throw ValidationError("--event-type \(text): \(error)") }
        }
        let sinceTime = try since.map { try DeadLetterFilterOptions.time($0, option: "--since", now: now) }
        let untilTime = try until.map { try DeadLetterFilterOptions.time($0, option: "--until", now: now) }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1, found \(limit)") }
        let rate = try maxRate.map { text -> Double in
            let number = text.hasSuffix("/s") ? String(text.dropLast(2)) : text
            guard let value = Double(number), value > 0, value.isFinite else {
                throw ValidationError("--max-rate \(text): expected rows per second, e.g. 200/s")
            }
            return value
        }
        let logger = logging.bootstrap()
        let relayConfiguration = try RelayConfiguration.load(path: config) { print("config: FAILED — \($0)") }
        let source = relayConfiguration.source
        guard let transport = relayConfiguration.transports.first(where: { $0.name == destination }) else {
            let known = relayConfiguration.transports.map(\.name).sorted().joined(separator: ", ")
            print("replay: no transport named \(destination) is configured (configured: \(known))")
            for transport in relayConfiguration.transports { await transport.shutdown() }
            throw ExitCode(1)
        }
        for other in relayConfiguration.transports where other.name != destination { await other.shutdown() }
        guard let lookup = source as? any OutboxRowLookup else {
            print("replay: the \(source.flavour) source for \(source.table) cannot read delivered rows")
            await transport.shutdown()
            throw ExitCode(1)
        }
        var start: OutboxCursor?
        if let afterRow {
            let id: OutboxRowID =
                source.flavour == .outbox
                ? try Int64(afterRow).map(OutboxRowID.integer)
                    ?? { throw ValidationError("--after-row \(afterRow): the outbox flavour's ids are integers") }()
                : .text(afterRow)
            guard let row = try await lookup.row(id: id) else {
                print("replay: no row \(afterRow) in \(source.table) to start after")
                await transport.shutdown()
                throw ExitCode(1)
            }
            start = row.cursor
        }
        let filter = ReplayFilter(
            base: relayConfiguration.expander,
            destination: destination,
            routing: relayConfiguration.routing,
            eventType: pattern,
            since: sinceTime,
            until: untilTime
        )
        let rows = RetainedRowsSource(
            lookup: lookup,
            flavour: source.flavour,
            table: source.table,
            destination: destination,
            after: start,
            limit: limit,
            rowsPerSecond: dryRun ? nil : rate
        )
        if dryRun {
            await transport.shutdown()
            try await dryRunCount(rows, filter: filter, table: source.table)
            return
        }
        let engine = try RelayEngine(
            source: rows,
            transports: [transport],
            routing: try RoutingTable(rules: [.init(events: try EventTypePattern("*"), to: [destination])]),
            expander: filter,
            configuration: relayConfiguration.engine,
            logger: logger
        )
        let summary: RelaySummary
        do {
            summary = try await engine.drain()
        } catch {
            print("replay: FAILED — \(error)")
            let last = rows.progress.lastFinished
            if let last { print("last row finished: \(last) (resume with --after-row \(last))") }
            throw ExitCode(1)
        }
        let progress = rows.progress
        for failure in progress.failures {
            print("row \(failure.rowID), event \(failure.eventID ?? "-"): FAILED — \(failure.lastError)")
        }
        print(
            "replayed \(progress.rowsRead) rows of \(source.table) to \(destination): "
                + "\(summary.deliveries) messages delivered, "
                + "\(progress.failures.count) failed, "
                + "\(filter.skipped.withLock { $0 }) not selected, \(progress.undecodableRows) rows undecodable"
        )
        print("last row finished: \(progress.lastFinished?.description ?? "none")")
        if !progress.failures.isEmpty || summary.rowsLeftInFlight > 0 { throw ExitCode(1) }
    }

    /// Reads and filters as the replay would, counting instead of sending.
    private func dryRunCount(_ rows: RetainedRowsSource, filter: ReplayFilter, table: String) async throws {
        let decoder = EnvelopeDecoder(table: table)
        var messages = 0
        var undecodable = 0
        var first: OutboxRowID?
        var last: OutboxRowID?
        var cursor: OutboxCursor?
        while true {
            let batch = try await rows.fetch(limit: 500, after: cursor)
            guard let end = batch.last else { break }
            cursor = end.cursor
            for row in batch {
                guard let message = try? decoder.decode(row), let selected = try? filter.expand(message) else {
                    undecodable += 1
                    continue
                }
                if !selected.isEmpty {
                    messages += selected.count
                    first = first ?? row.id
                    last = row.id
                }
            }
        }
        print(
            "would send \(messages) messages from \(rows.progress.rowsRead) rows of \(table) to \(destination) "
                + "(rows \(first?.description ?? "-") … \(last?.description ?? "-")); "
                + "\(filter.skipped.withLock { $0 }) not selected, \(undecodable) rows undecodable; "
                + "nothing was sent (--dry-run)"
        )
    }
}
