import OutboxRelay
import OutboxSQLite
import Prometheus
import Synchronization

// SQLiteDrainBenchmark: how fast OutboxSQLite empties an SQLite `outbox` table, next to
// Reference/sqlite_drain.c (same SQL through libsqlite3, no relay). Run through
// Benchmarks/run-sqlite.sh, which interleaves the programs and prints the table.
//
//   SQLiteDrainBenchmark generate DB_PATH ROWS
//   SQLiteDrainBenchmark source-loop DB_PATH mark|delete BATCH_SIZE
//   SQLiteDrainBenchmark relay DB_PATH mark|delete BATCH_SIZE
//
// Drains print one line: `RESULT program=… rows=… bytes=… seconds=… cpu_seconds=…`.
#if canImport(Glibc)
import Glibc
#endif

func fail(_ message: String) -> Never {
    // write(2) to fd 2: C's `stderr` global is not concurrency-safe in Swift 6.
    let text = Array("SQLiteDrainBenchmark: \(message)\n".utf8)
    _ = text.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(1)
}

func monotonicSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

/// Payloads shaped like the golden fixtures: PHP's header order and escaping, custom
/// headers, about 3,000 aggregates with versions counting up, about 1.5 KB each.
func payload(_ index: Int) -> [UInt8] {
    let aggregate = index % 3000
    let version = index / 3000 + 1
    let types = ["order_was_placed", "order_line_added", "order_was_shipped", "order_was_cancelled"]
    let micros = String(100_000 + index % 900_000)
    let note = String(repeating: "Lieferung f\\u00fcr Kunde \\/ Filiale \(aggregate); ", count: 28)
    let text =
        #"{"headers":{"__time_of_recording":"2024-03-14 05:04:50.\#(micros)+0000","#
        + #""__time_of_recording_format":"Y-m-d H:i:s.uO","#
        + #""__aggregate_root_id":"8f0c6a2e-0000-4000-8000-\#(String(100_000_000_000 + aggregate))","#
        + #""__aggregate_root_type":"acme.shop.orders.order","__aggregate_root_version":\#(version),"#
        + #""__event_type":"acme.shop.orders.\#(types[index % 4])","x-request-id":"req-\#(index)","#
        + #""x-tenant":"acme-eu","__aggregate_root_id_type":"acme.shop.orders.order_id"},"#
        + #""payload":{"order_id":"\#(aggregate)","line":\#(version),"total_cents":\#(1000 + index % 5000),"#
        + #""note":"\#(note)"}}"#
    return Array(text.utf8)
}

func report(_ program: String, rows: Int, bytes: Int, seconds: Double) {
    print("RESULT program=\(program) rows=\(rows) bytes=\(bytes) seconds=\(seconds) cpu_seconds=\(cpuSeconds())")
}

func configuration(_ path: String, _ after: String) -> SQLiteSource.Configuration {
    var configuration = SQLiteSource.Configuration(path: path, flavour: .outbox)
    guard let afterDelivery = AfterDelivery(rawValue: after) else { fail("expected mark or delete, got \(after)") }
    configuration.afterDelivery = afterDelivery
    return configuration
}

/// Counts what the relay hands over.
final class Counter: Sendable {
    let messages = Atomic<Int>(0)
    let bytes = Atomic<Int>(0)
}

let arguments = CommandLine.arguments
guard arguments.count >= 4 else {
    fail(
        "usage: SQLiteDrainBenchmark generate DB ROWS | source-loop DB mark|delete BATCH "
            + "| relay|relay-metrics DB mark|delete BATCH"
    )
}
let path = arguments[2]

switch arguments[1] {
case "generate":
    guard let rows = Int(arguments[3]), rows > 0 else { fail("ROWS must be a positive number") }
    let source = SQLiteSource(configuration: .init(path: path, flavour: .outbox))
    try await source.createTables()
    var next = 0
    while next < rows {
        let end = min(rows, next + 5000)
        try await source.insert(payloads: (next..<end).map(payload))
        next = end
    }
    await source.close()
    print("generated \(rows) rows in \(path)")

case "source-loop":
    guard arguments.count == 5, let batch = Int(arguments[4]), batch > 0 else {
        fail("usage: source-loop DB mark|delete BATCH")
    }
    let start = monotonicSeconds()
    let source = SQLiteSource(configuration: configuration(path, arguments[3]))
    try await source.open()
    var rows = 0
    var bytes = 0
    var cursor: OutboxCursor?
    while true {
        let batchRows = try await source.fetch(limit: batch, after: cursor)
        guard let last = batchRows.last else { break }
        cursor = last.cursor
        rows += batchRows.count
        for row in batchRows { bytes += row.payload.count }
        try await source.complete(rows: batchRows.map(\.id), deadLetters: [])
    }
    let seconds = monotonicSeconds() - start
    await source.close()
    report("source-loop", rows: rows, bytes: bytes, seconds: seconds)

case "relay", "relay-metrics":
    guard arguments.count == 5, let batch = Int(arguments[4]), batch > 0 else {
        fail("usage: relay|relay-metrics DB mark|delete BATCH")
    }
    // relay-metrics: the same drain recording RelayMetrics into swift-prometheus, as the daemon does.
    let registry = arguments[1] == "relay-metrics" ? PrometheusCollectorRegistry() : nil
    let counter = Counter()
    let consumer = MessageConsumerClosure { message in
        counter.messages.add(1, ordering: .relaxed)
        counter.bytes.add(message.envelope.count, ordering: .relaxed)
    }
    let start = monotonicSeconds()
    let engine = try RelayEngine(
        source: SQLiteSource(configuration: configuration(path, arguments[3])),
        transports: [SynchronousDispatcher(name: "counter", consumer: consumer)],
        routing: RoutingTable(rules: [.init(events: try EventTypePattern("*"), to: ["counter"])]),
        configuration: .init(batchSize: batch),
        metrics: registry.map { PrometheusMetricsFactory(registry: $0) }
    )
    let summary = try await engine.drain()
    let seconds = monotonicSeconds() - start
    if let registry {
        let completed = "\(RelayMetrics.Name.rowsCompleted){table=\"outbox_messages\",action=\"\(arguments[3])\"} "
        let scraped = registry.emitToString().split(separator: "\n").first { $0.hasPrefix(completed) }
        guard let scraped, Int(scraped.dropFirst(completed.count)) == summary.rowsCompleted else {
            fail("the metrics say \(scraped ?? "nothing"), the relay completed \(summary.rowsCompleted) rows")
        }
    }
    guard summary.rowsCompleted == counter.messages.load(ordering: .relaxed) else {
        fail(
            "the relay completed \(summary.rowsCompleted) rows but delivered "
                + "\(counter.messages.load(ordering: .relaxed)) messages"
        )
    }
    report(
        arguments[1],
        rows: counter.messages.load(ordering: .relaxed),
        bytes: counter.bytes.load(ordering: .relaxed),
        seconds: seconds
    )

default:
    fail("unknown mode \(arguments[1])")
}
