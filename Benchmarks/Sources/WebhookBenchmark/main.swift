// Webhook benchmark: messages → WebhookTransport → a local server answering 204, at several
// concurrency levels, next to Reference/curl_multi_post.c posting the same bodies with the
// same concurrency in the same run. See Benchmarks/run-http.sh and Benchmarks/README.md.
//
//   WebhookBenchmark --url http://127.0.0.1:PORT/hook --reference PATH
//                    [--count 20000] [--concurrency 16,64] [--rounds 3] [--postgres URL]
//
// Columns:
//   C reference        curl_multi_post: same bodies, same concurrency, no signing, no ordering.
//   transport          pre-generated messages fed straight to WebhookTransport.deliver in
//                      batches of 500, 4 batches in flight; signed.
//   postgres → webhook (with --postgres) PHP-shaped rows in a PostgreSQL outbox table, drained
//                      by PostgresSource → RelayEngine → WebhookTransport; signed.
import Foundation
import Logging
import OutboxHTTP
import OutboxPostgres
import OutboxRelay

struct Options {
    var url = ""
    var reference = ""
    var count = 20_000
    var concurrency = [16, 64]
    var rounds = 3
    var postgres: String?

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let argument = iterator.next() {
            let value = iterator.next() ?? ""
            switch argument {
            case "--url": url = value
            case "--reference": reference = value
            case "--count": count = Int(value) ?? count
            case "--concurrency": concurrency = value.split(separator: ",").compactMap { Int($0) }
            case "--rounds": rounds = Int(value) ?? rounds
            case "--postgres": postgres = value.isEmpty ? nil : value
            default:
                FileHandle.standardError.write(Data("unknown argument \(argument)\n".utf8))
                exit(2)
            }
        }
        guard !url.isEmpty, !reference.isEmpty else {
            FileHandle.standardError.write(
                Data(
                    """
                    usage: WebhookBenchmark --url URL --reference PATH [--count N] [--concurrency 16,64] \
                    [--rounds R] [--postgres URL]\n
                    """
                    .utf8
                )
            )
            exit(2)
        }
    }
}

let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

/// PHP-shaped envelopes: one aggregate per 4 messages (versions 1–4), ≈ 700-byte payloads.
func makeMessages(_ count: Int) throws -> [OutboxMessage] {
    let filler = String(repeating: "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ", count: 10)
    return try (0..<count).map { index in
        let aggregate = String(format: "%08x-0000-4000-8000-%012x", index / 4, index / 4)
        let headers: JSONObject = [
            "__event_type": .string("acme.shop.orders.order_was_placed"),
            "__event_id": .string(String(format: "%08x-1111-4000-8000-%012x", index, index)),
            "__aggregate_root_id": .string(aggregate),
            "__aggregate_root_id_type": .string("acme.shop.orders.order_id"),
            "__aggregate_root_type": .string("acme.shop.orders.order"),
            "__aggregate_root_version": .number(String(index % 4 + 1)),
            "__time_of_recording": .string("2024-03-14 05:04:50.163498+0000"),
            "x-request-id": .string("req-\(index)"),
        ]
        let payload: JSONValue = .object([
            "order_id": .string(aggregate), "customer": .string("Kunde Müller"), "total": .number("1234"),
            "note": .string(filler), "lines": .array([.number("1"), .number("2"), .number("3")]),
        ])
        return try OutboxMessage(rowID: .integer(Int64(index + 1)), headers: headers, payload: payload)
    }
}

/// Throughput and CPU time (user + system, whole process) per message.
struct Measurement {
    var rate: Double
    var cpuMicrosecondsPerMessage: Double
}

func processCPUMicroseconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
}

func runReference(_ options: Options, bodies: String, concurrency: Int) throws -> Measurement {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: options.reference)
    process.arguments = [options.url, bodies, String(options.count), String(concurrency)]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    waitForExit(process)
    guard process.terminationStatus == 0,
        let field = output.split(separator: " ").first(where: { $0.hasPrefix("msgs_per_s=") }),
        let rate = Double(field.dropFirst("msgs_per_s=".count).trimmingCharacters(in: .whitespacesAndNewlines)),
        let cpuField = output.split(separator: " ").first(where: { $0.hasPrefix("cpu_us_per_msg=") }),
        let cpu = Double(cpuField.dropFirst("cpu_us_per_msg=".count).trimmingCharacters(in: .whitespacesAndNewlines))
    else {
        throw BenchmarkError(description: "reference failed (status \(process.terminationStatus)): \(output)")
    }
    return Measurement(rate: rate, cpuMicrosecondsPerMessage: cpu)
}

func transport(_ options: Options, concurrency: Int, name: String = "hook") throws -> WebhookTransport {
    var configuration = WebhookTransport.Configuration(url: options.url)
    configuration.concurrency = concurrency
    configuration.signing.secrets = [secret]
    configuration.network.allowPrivateNetworks = true  // the benchmark server is on loopback
    return try WebhookTransport(name: name, configuration: configuration)
}

/// Feeds batches of 500, at most 4 in flight; checks every result.
func runTransport(_ options: Options, messages: [OutboxMessage], concurrency: Int) async throws -> Measurement {
    let webhook = try transport(options, concurrency: concurrency)
    try await webhook.start()
    let batches = stride(from: 0, to: messages.count, by: 500).map {
        Array(messages[$0..<min($0 + 500, messages.count)])
    }
    let clock = ContinuousClock()
    let start = clock.now
    let cpuStart = processCPUMicroseconds()
    let delivered = await withTaskGroup(of: Int.self) { group in
        var next = 0
        var delivered = 0
        while next < min(4, batches.count) {
            let batch = batches[next]
            group.addTask { await webhook.deliver(batch).filter(\.isDelivered).count }
            next += 1
        }
        while let count = await group.next() {
            delivered += count
            if next < batches.count {
                let batch = batches[next]
                group.addTask { await webhook.deliver(batch).filter(\.isDelivered).count }
                next += 1
            }
        }
        return delivered
    }
    let elapsed = clock.now - start
    let cpu = processCPUMicroseconds() - cpuStart
    await webhook.shutdown()
    guard delivered == messages.count else {
        throw BenchmarkError(description: "transport delivered \(delivered) of \(messages.count)")
    }
    return Measurement(
        rate: Double(messages.count) / elapsed.seconds,
        cpuMicrosecondsPerMessage: cpu / Double(messages.count)
    )
}

func psql(_ url: String, _ arguments: [String]) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["psql", url, "-q", "-v", "ON_ERROR_STOP=1"] + arguments
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    waitForExit(process)
    guard process.terminationStatus == 0 else { throw BenchmarkError(description: "psql \(arguments) failed") }
}

/// Polls instead of `Process.waitUntilExit`, which can hang when called from a Swift task.
func waitForExit(_ process: Process) {
    while process.isRunning { usleep(5_000) }
}

/// Loads the messages as PHP rows (`outbox` flavour) into a fresh table, drains it with the
/// engine to the webhook, and checks every row was marked.
func runPostgres(
    _ options: Options,
    url: String,
    csv: String,
    messages: [OutboxMessage],
    concurrency: Int
) async throws -> Double {
    let table = "webhook_bench.outbox_messages"
    try psql(
        url,
        [
            "-c", "DROP SCHEMA IF EXISTS webhook_bench CASCADE; CREATE SCHEMA webhook_bench;",
            "-c", OutboxSchema.outboxTable(flavour: .outbox, dialect: .postgres, table: try SQLIdentifier(table)),
            "-c", "\\copy \(table) (id, consumed, payload) FROM '\(csv)' WITH (FORMAT csv)",
            "-c", "VACUUM ANALYZE \(table)",
        ]
    )
    let webhook = try transport(options, concurrency: concurrency)
    var sourceLogger = Logger(label: "webhook-benchmark.postgres")
    sourceLogger.logLevel = .warning
    let source = try PostgresSource(
        configuration: PostgresSource.Configuration(
            connection: PostgresConnectionString(url),
            flavour: .outbox,
            table: table
        ),
        logger: sourceLogger
    )
    let routing = try RoutingTable(rules: [.init(events: try EventTypePattern("*"), to: ["hook"])])
    var logger = Logger(label: "webhook-benchmark")
    logger.logLevel = .warning
    let engine = try RelayEngine(source: source, transports: [webhook], routing: routing, logger: logger)
    let clock = ContinuousClock()
    let start = clock.now
    let summary = try await engine.drain()
    let elapsed = clock.now - start
    guard summary.deliveries == messages.count, summary.rowsCompleted == messages.count, summary.deadLetters == 0 else {
        throw BenchmarkError(description: "postgres drain: \(summary)")
    }
    return Double(messages.count) / elapsed.seconds
}

struct BenchmarkError: Error, CustomStringConvertible {
    var description: String
}

let options = Options(CommandLine.arguments)
let messages = try makeMessages(options.count)
let directory = NSTemporaryDirectory() + "webhook-bench-\(getpid())"
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: directory) }
let bodies = directory + "/bodies.jsonl"
try Data(messages.map { String(decoding: $0.envelope, as: UTF8.self) }.joined(separator: "\n").utf8).write(
    to: URL(fileURLWithPath: bodies)
)
let csv = directory + "/rows.csv"
try Data(
    messages.map { message -> String in
        guard case .integer(let id) = message.rowID else { return "" }
        return "\(id),f,\""
            + String(decoding: message.envelope, as: UTF8.self).replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }.joined(separator: "\n").utf8
).write(to: URL(fileURLWithPath: csv))

let averageBody = messages.reduce(0) { $0 + $1.envelope.count } / max(messages.count, 1)
print(
    "webhook benchmark: \(options.count) messages per run, \(averageBody) B average body, \(options.rounds) rounds, "
        + "\(ProcessInfo.processInfo.activeProcessorCount) cores, server \(options.url)"
)
print("relay runs sign every request (1 secret); the C reference sends a fixed signature header")
var header =
    "| concurrency | round | C reference msgs/s | transport msgs/s | % of C | C CPU µs/msg | transport CPU µs/msg |"
if options.postgres != nil { header += " postgres → webhook msgs/s | % of C |" }
print(header)
print(String(header.map { $0 == "|" ? "|" : "-" }))
var summaries: [String] = []
func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
func format(_ value: Double) -> String { String(format: "%.1f", value) }
for concurrency in options.concurrency {
    var referenceRates: [Double] = []
    var transportRates: [Double] = []
    var postgresRates: [Double] = []
    var referenceCPU: [Double] = []
    var transportCPU: [Double] = []
    for round in 1...options.rounds {
        // Alternate the order every round so neither side always runs on a warmer server.
        var reference: Measurement
        var relay: Measurement
        if round % 2 == 1 {
            reference = try runReference(options, bodies: bodies, concurrency: concurrency)
            relay = try await runTransport(options, messages: messages, concurrency: concurrency)
        } else {
            relay = try await runTransport(options, messages: messages, concurrency: concurrency)
            reference = try runReference(options, bodies: bodies, concurrency: concurrency)
        }
        referenceRates.append(reference.rate)
        transportRates.append(relay.rate)
        referenceCPU.append(reference.cpuMicrosecondsPerMessage)
        transportCPU.append(relay.cpuMicrosecondsPerMessage)
        var line =
            "| \(concurrency) | \(round) | \(Int(reference.rate)) | \(Int(relay.rate)) | "
            + "\(Int(relay.rate / reference.rate * 100)) % | \(format(reference.cpuMicrosecondsPerMessage)) | "
            + "\(format(relay.cpuMicrosecondsPerMessage)) |"
        if let url = options.postgres {
            let drained = try await runPostgres(
                options,
                url: url,
                csv: csv,
                messages: messages,
                concurrency: concurrency
            )
            postgresRates.append(drained)
            line += " \(Int(drained)) | \(Int(drained / reference.rate * 100)) % |"
        }
        print(line)
    }
    var summary =
        "concurrency \(concurrency): median C \(Int(median(referenceRates))) msgs/s, "
        + "transport \(Int(median(transportRates))) msgs/s "
        + "(\(Int(median(transportRates) / median(referenceRates) * 100)) %)"
    if !postgresRates.isEmpty {
        summary +=
            ", postgres → webhook \(Int(median(postgresRates))) msgs/s "
            + "(\(Int(median(postgresRates) / median(referenceRates) * 100)) %)"
    }
    summary += "; CPU per message: C \(format(median(referenceCPU))) µs, transport \(format(median(transportCPU))) µs"
    summaries.append(summary)
}
print("")
for summary in summaries { print(summary) }
if let url = options.postgres { try? psql(url, ["-c", "DROP SCHEMA IF EXISTS webhook_bench CASCADE"]) }
