import Logging
import OutboxKafka
import OutboxPostgres
import OutboxRelay

// Outbox (PostgreSQL) → Kafka throughput, next to the same run's outbox → in-process figure.
//
//   KafkaBenchmark --bootstrap 127.0.0.1:PORT,… [--rows 100000] [--rounds 5] [--batch-size 500]
//                  [--batches-in-flight 8] [--topic outbox] [--no-control]
//
// Needs OUTBOX_TEST_POSTGRES_URL (a scratch database: outbox_messages is dropped and
// re-created) and a Kafka cluster; Benchmarks/run-kafka.sh provides both (librdkafka's mock
// cluster in its own process, 3 brokers, a 6-partition topic). Each round drains the same
// freshly written table once into each destination, back to back (the order alternates), and
// prints Kafka / in-process for the round; the summary gives the medians and the median of
// the rounds' ratios, which is robust to a shared machine's slow and fast minutes.
//
// Unless --no-control, each round then drains the rows a third time into a control
// destination that only spends, on a thread of its own, the CPU per message the Kafka drain
// cost more than the in-process one in that round (the relay's extra CPU plus the mock
// cluster's): what that CPU alone costs the relay on this machine, without Kafka.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct Options {
    var bootstrap = ""
    var topic = "outbox"
    var rows = 100_000
    var rounds = 5
    var batchSize = 500
    /// The engine's maximumBatchesInFlight, for both drains.
    var batchesInFlight = RelayEngine.Configuration().maximumBatchesInFlight
    var connection = ""
    /// Only time KafkaTransport.deliver with in-memory batches (no PostgreSQL, no engine).
    var transportOnly = false
    /// The mock cluster's process id, to report its CPU time per drain.
    var mockPID: Int32?
    /// Whether each round also drains into the control destination (``CPUSpendingTransport``).
    var control = true

    static func parse(_ arguments: [String]) -> Options {
        var options = Options()
        options.connection = getenv("OUTBOX_TEST_POSTGRES_URL").map { String(cString: $0) } ?? ""
        var index = 0
        func value() -> String {
            index += 1
            guard index < arguments.count else { fail("\(arguments[index - 1]) needs a value") }
            return arguments[index]
        }
        while index < arguments.count {
            switch arguments[index] {
            case "--bootstrap": options.bootstrap = value()
            case "--topic": options.topic = value()
            case "--rows": options.rows = Int(value()) ?? options.rows
            case "--rounds": options.rounds = Int(value()) ?? options.rounds
            case "--batch-size": options.batchSize = Int(value()) ?? options.batchSize
            case "--transport-only": options.transportOnly = true
            case "--mock-pid": options.mockPID = Int32(value())
            case "--batches-in-flight": options.batchesInFlight = Int(value()) ?? options.batchesInFlight
            case "--no-control": options.control = false
            default: fail("unknown argument \(arguments[index])")
            }
            index += 1
        }
        if options.bootstrap.isEmpty { fail("--bootstrap is required") }
        if options.connection.isEmpty && !options.transportOnly { fail("OUTBOX_TEST_POSTGRES_URL is not set") }
        return options
    }
}

func fail(_ message: String) -> Never {
    let text = "KafkaBenchmark: \(message)\n"
    _ = text.withCString { write(2, $0, strlen($0)) }
    exit(2)
}

enum Destination: String {
    case inProcess = "in-process"
    case kafka
    case control
}

/// CPU seconds (user + system) this process used so far.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(
        usage.ru_utime.tv_usec + usage.ru_stime.tv_usec
    ) / 1e6
}

/// CPU seconds (user + system) of another process, from /proc/PID/stat; nil if unreadable.
func otherProcessCPUSeconds(_ pid: Int32?) -> Double? {
    guard let pid, let file = fopen("/proc/\(pid)/stat", "r") else { return nil }
    defer { fclose(file) }
    var buffer = [UInt8](repeating: 0, count: 1024)
    let count = fread(&buffer, 1, buffer.count, file)
    let text = String(decoding: buffer[0..<count], as: UTF8.self)
    guard let close = text.lastIndex(of: ")") else { return nil }
    let fields = text[text.index(after: close)...].split(separator: " ")
    // fields[0] is the state (field 3); utime and stime are fields 14 and 15.
    guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// Busy and total CPU time of the whole machine (all cores), from the first line of /proc/stat,
/// in clock ticks; nil where unreadable.
func machineCPUTicks() -> (busy: Double, total: Double)? {
    guard let file = fopen("/proc/stat", "r") else { return nil }
    defer { fclose(file) }
    var buffer = [UInt8](repeating: 0, count: 512)
    let count = fread(&buffer, 1, buffer.count, file)
    guard let line = String(decoding: buffer[0..<count], as: UTF8.self).split(separator: "\n").first else { return nil }
    // cpu user nice system idle iowait irq softirq steal ...
    let values = line.split(separator: " ").dropFirst().compactMap { Double($0) }
    guard values.count >= 5 else { return nil }
    let total = values.prefix(8).reduce(0, +)
    return (total - values[3] - values[4], total)
}

struct DrainResult {
    var rate: Double
    /// Share of the machine's CPU time (all cores) that was busy during the drain, in percent.
    var machineBusyPercent: Double?
    var relayMicrosecondsPerMessage: Double
    var mockMicrosecondsPerMessage: Double?
}

/// Drains the table once through PostgresSource → RelayEngine → the destination; the control
/// destination spends `controlMicroseconds` of CPU per message.
func drain(
    _ destination: Destination,
    controlMicroseconds: Double = 0,
    options: Options,
    workload: KafkaBenchmarkWorkload,
    logger: Logger
) async throws -> DrainResult {
    let source = try PostgresSource(
        configuration: PostgresSource.Configuration(
            connection: PostgresConnectionString(options.connection),
            flavour: .outbox
        ),
        logger: logger
    )
    let transport: any Transport
    let consumer = CountingConsumer()
    switch destination {
    case .inProcess:
        transport = SynchronousDispatcher(name: "out", consumer: consumer)
    case .control:
        transport = CPUSpendingTransport(name: "out", microsecondsPerMessage: controlMicroseconds)
    case .kafka:
        transport = try KafkaTransport(
            name: "out",
            configuration: .init(bootstrapServers: [options.bootstrap], topic: options.topic),
            logger: logger
        )
    }
    let engine = try RelayEngine(
        source: source,
        transports: [transport],
        routing: RoutingTable(rules: [.init(events: EventTypePattern("*"), to: ["out"])]),
        configuration: .init(batchSize: options.batchSize, maximumBatchesInFlight: options.batchesInFlight),
        logger: logger
    )
    let cpuBefore = processCPUSeconds()
    let mockBefore = otherProcessCPUSeconds(options.mockPID)
    let machineBefore = machineCPUTicks()
    let started = ContinuousClock.now
    let summary = try await engine.drain()
    let elapsed = ContinuousClock.now - started
    let cpu = processCPUSeconds() - cpuBefore
    let mockCPU = otherProcessCPUSeconds(options.mockPID).flatMap { after in mockBefore.map { after - $0 } }
    let machineBusy = machineCPUTicks().flatMap { after in
        machineBefore.map { before in
            after.total > before.total ? 100 * (after.busy - before.busy) / (after.total - before.total) : 0
        }
    }
    guard summary.rowsCompleted == options.rows, summary.deadLetters == 0,
        destination != .inProcess || consumer.messages == options.rows
    else {
        fail(
            "\(destination.rawValue): expected \(options.rows) rows delivered, got \(summary) "
                + "(consumer: \(consumer.messages))"
        )
    }
    let rows = Double(options.rows)
    return DrainResult(
        rate: rows / elapsed.seconds,
        machineBusyPercent: machineBusy,
        relayMicrosecondsPerMessage: cpu * 1e6 / rows,
        mockMicrosecondsPerMessage: destination == .kafka ? mockCPU.map { $0 * 1e6 / rows } : nil
    )
}

func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.count % 2 == 1
        ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
}

func format(_ value: Double) -> String {
    String(Int(value.rounded()))
}

let options = Options.parse(Array(CommandLine.arguments.dropFirst()))
// As `outbox-relay run` does: keep freed batch memory for reuse.
MemoryAllocator.keepFreedMemory()
nonisolated(unsafe) var logger = Logger(label: "kafka-benchmark")
logger.logLevel = .error

/// KafkaTransport alone: rows shaped like the workload's (PHP escaping, custom `x-…` headers,
/// 0.6–1.1 KB payloads) decoded fresh for every batch, as the engine hands them over (custom
/// headers not parsed yet), and delivered one batch at a time like an engine lane does.
/// Prints msgs/s and this process's CPU per message, next to decoding alone.
nonisolated func transportOnly(_ options: Options, logger: Logger) async throws {
    let transport = try KafkaTransport(
        name: "out",
        configuration: .init(bootstrapServers: [options.bootstrap], topic: options.topic),
        logger: logger
    )
    try await transport.start()
    let types = [
        ("acme.shop.orders.order", "acme.shop.orders.order_line_added"),
        ("acme.shop.customers.customer", "acme.shop.customers.customer_note_added"),
        ("acme.shop.documents.document", "acme.shop.documents.document_uploaded"),
        ("acme.shop.inventory.warehouse", "acme.shop.inventory.stock_adjusted"),
    ]
    let tenants = ["alpha-tenant", "beta-tenant", "gamma-tenant"]
    func uuid(_ seed: Int) -> String {
        var state = UInt64(truncatingIfNeeded: seed) &* 0x9E37_79B9_7F4A_7C15 | 1
        var hex = ""
        for position in 0..<32 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            if [8, 12, 16, 20].contains(position) { hex += "-" }
            hex += String(state % 16, radix: 16)
        }
        return hex
    }
    var rows: [OutboxRow] = []
    var versions: [Int: Int] = [:]
    let padding = String(repeating: "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo", count: 24)
    for index in 1...max(options.batchSize, 20_000) {
        let aggregate = (index &* 2_654_435_761) % 30_000
        let version = versions[aggregate, default: 0] + 1
        versions[aggregate] = version
        let (rootType, eventType) = types[aggregate % 4]
        let json =
            #"{"headers":{"__time_of_recording":"2024-03-14 05:04:50.\#(100_000 + index % 900_000)+0000","#
            + #""__time_of_recording_format":"Y-m-d H:i:s.uO","__aggregate_root_id":"\#(uuid(aggregate))","#
            + #""__aggregate_root_type":"\#(rootType)","__aggregate_root_version":\#(version),"#
            + #""__event_type":"\#(eventType)","__event_id":"\#(uuid(-index))","x-request-id":"\#(uuid(index))","#
            + #""x-tenant":"\#(tenants[index % 3])"},"#
            + #""payload":{"note":"Lieferung \u00fcber Tor \#(index % 17) \/ Rampe \#(index % 5)","#
            + #""amount_cents":\#(index * 13 % 851_968),"currency":"EUR","#
            + #""content_base64":"\#(padding.prefix(300 + index * 7 % 500))"}}"#
        rows.append(OutboxRow(id: .integer(Int64(index)), payload: Array(json.utf8)))
    }
    let decoder = EnvelopeDecoder(table: "outbox_messages")
    let batches = max(1, options.rows / options.batchSize)
    func batch(_ number: Int) throws -> [OutboxMessage] {
        let start = number * options.batchSize % (rows.count - options.batchSize + 1)
        return try rows[start..<start + options.batchSize].map { try decoder.decode($0) }
    }
    // Decoding alone, to subtract.
    var decodeCPU = processCPUSeconds()
    for number in 0..<batches { _ = try batch(number).count }
    decodeCPU = processCPUSeconds() - decodeCPU
    let cpuBefore = processCPUSeconds()
    let started = ContinuousClock.now
    for number in 0..<batches {
        let results = await transport.deliver(try batch(number))
        guard results.allSatisfy({ $0.isDelivered }) else {
            fail("transport-only: \(results.first { !$0.isDelivered }!)")
        }
    }
    let elapsed = ContinuousClock.now - started
    let cpu = processCPUSeconds() - cpuBefore
    await transport.shutdown()
    let messages = Double(batches * options.batchSize)
    print(
        "transport only: \(format(messages / elapsed.seconds)) msgs/s, "
            + "\(String(format1: elapsed.seconds * 1000 / Double(batches))) ms per batch of \(options.batchSize); "
            + "CPU \(String(format1: cpu * 1e6 / messages)) µs/msg "
            + "(decoding alone \(String(format1: decodeCPU * 1e6 / messages)), "
            + "so Kafka \(String(format1: (cpu - decodeCPU) * 1e6 / messages)))"
    )
}

if options.transportOnly {
    try await transportOnly(options, logger: logger)
    exit(0)
}
let psql = Psql(connection: options.connection)
let workload = KafkaBenchmarkWorkload(rows: options.rows)
try psql.execute(workload.createSQL)
let averageBytes = try psql.integer(workload.averageBytesSQL)
print(
    "outbox (PostgreSQL) -> Kafka: \(options.rows) rows of ~\(averageBytes) bytes, batch size \(options.batchSize), "
        + "\(options.batchesInFlight) batches in flight, \(options.rounds) rounds, Kafka at \(options.bootstrap), "
        + "topic \(options.topic)"
)

var results: [Destination: [Double]] = [:]
var roundRatios: [Double] = []
var controlRatios: [Double] = []
for round in 1...options.rounds {
    // Each round drains the same rows once into each destination, back to back, so the two
    // figures of a round share the machine's state; the order alternates between rounds.
    // The control destination comes last: it spends the CPU the Kafka drain cost extra.
    var order: [Destination] = round % 2 == 1 ? [.inProcess, .kafka] : [.kafka, .inProcess]
    if options.control { order.append(.control) }
    var rates: [Destination: Double] = [:]
    var relayCPU: [Destination: Double] = [:]
    var kafkaMockCPU: Double?
    var kafkaExtraCPU = 0.0
    for destination in order {
        try psql.execute(workload.resetSQL)
        if destination == .control {
            kafkaExtraCPU = max(0, relayCPU[.kafka]! - relayCPU[.inProcess]!) + (kafkaMockCPU ?? 0)
        }
        let result = try await drain(
            destination,
            controlMicroseconds: kafkaExtraCPU,
            options: options,
            workload: workload,
            logger: logger
        )
        guard try psql.integer(workload.undeliveredSQL) == 0 else {
            fail("rows left undelivered after the \(destination.rawValue) drain")
        }
        results[destination, default: []].append(result.rate)
        rates[destination] = result.rate
        relayCPU[destination] = result.relayMicrosecondsPerMessage
        if destination == .kafka { kafkaMockCPU = result.mockMicrosecondsPerMessage }
        var line =
            "round \(round) \(destination.rawValue.padding(10)) \(format(result.rate).leftPadded(8)) msgs/s   "
            + "relay CPU \(String(format1: result.relayMicrosecondsPerMessage).leftPadded(5)) µs/msg"
        if let busy = result.machineBusyPercent { line += "   machine busy \(format(busy).leftPadded(3)) %" }
        if let mock = result.mockMicrosecondsPerMessage {
            line += "   mock cluster CPU \(String(format1: mock).leftPadded(4)) µs/msg"
        }
        if destination == .control {
            line += "   (spends \(String(format1: kafkaExtraCPU)) µs/msg: the Kafka drain's extra CPU)"
        }
        print(line)
    }
    let ratio = 100 * rates[.kafka]! / rates[.inProcess]!
    roundRatios.append(ratio)
    var ratios = "round \(round) kafka / in-process = \(String(format1: ratio)) %"
    if let control = rates[.control] {
        controlRatios.append(100 * control / rates[.inProcess]!)
        ratios += "   control / in-process = \(String(format1: controlRatios.last!)) %"
    }
    print(ratios)
}
let inProcess = median(results[.inProcess]!)
let kafka = median(results[.kafka]!)
print("")
print("median   in-process \(format(inProcess).leftPadded(8)) msgs/s   (reference: same run, same rows)")
print(
    "median   kafka      \(format(kafka).leftPadded(8)) msgs/s   = "
        + "\(String(format1: 100 * kafka / inProcess)) % of in-process"
)
print(
    "median of the rounds' kafka / in-process = \(String(format1: median(roundRatios))) % (target >= 90 %; rounds: "
        + "\(roundRatios.map { String(format1: $0) }.joined(separator: ", ")))"
)
if !controlRatios.isEmpty {
    print(
        "median of the rounds' control / in-process = \(String(format1: median(controlRatios))) % "
            + "(a destination that only spends the Kafka drain's extra CPU; rounds: "
            + "\(controlRatios.map { String(format1: $0) }.joined(separator: ", ")))"
    )
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
    init(format1 value: Double) {
        let tenths = Int((value * 10).rounded())
        self = "\(tenths / 10).\(abs(tenths % 10))"
    }
}
