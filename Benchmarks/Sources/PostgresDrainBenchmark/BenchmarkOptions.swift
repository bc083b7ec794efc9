import DrainBenchmarkSupport
import OutboxPostgres
import OutboxRelay

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The benchmark's command line.
struct BenchmarkOptions {
    /// What to run.
    enum Mode: String {
        /// Every configuration, relay and C reference interleaved; prints the comparison table.
        case matrix
        /// One large backlog per configuration; prints throughput and peak memory.
        case backlog
    }

    /// A command-line error, printed with the usage text.
    struct UsageError: Error, CustomStringConvertible {
        var description: String
    }

    var mode: Mode = .matrix
    /// libpq URI or conninfo. Default: `$OUTBOX_TEST_POSTGRES_URL`, else empty (PG* variables).
    var connection: String = BenchmarkOptions.environment("OUTBOX_TEST_POSTGRES_URL") ?? ""
    /// The `pg_drain` executable. Required.
    var referenceExecutable: String?
    /// The `psql` executable. Default `psql`.
    var psqlExecutable = "psql"
    /// Rows per table. Default 100,000 (matrix) or 1,000,000 (backlog).
    var rows: Int?
    /// Measurements per configuration and program, interleaved. Default 3 (matrix), 1 (backlog).
    var rounds: Int?
    /// Flavours. Default both (matrix), `outbox` (backlog).
    var flavours: [OutboxFlavour]?
    /// After-delivery modes. Default both (matrix), `mark` (backlog).
    var afterDelivery: [AfterDelivery]?
    /// Batch sizes. Default 100, 1000, 5000 (matrix), 500 — the relay's default — (backlog).
    var batchSizes: [Int]?
    /// The engine's batches in flight. Default: the relay's default.
    var maximumBatchesInFlight = RelayEngine.Configuration().maximumBatchesInFlight
    /// The relay's `write_connection` (default `separate`, the relay's default).
    var writeConnection: PostgresSource.Configuration.WriteConnection = .separate
    /// Also measure `pg_drain --transaction` (BEGIN/COMMIT around each mark, as the relay does).
    var measuresReferenceTransaction = false
    /// Also measure `PostgresSource` alone (fetch/complete loop, no engine). Default `true`
    /// in matrix mode.
    var measuresSourceLoop = true
    /// Skip the relay (to profile the source loop alone).
    var skipsRelay = false
    /// Skip the C reference (to profile the relay alone).
    var skipsReference = false

    static let usage = """
        USAGE: PostgresDrainBenchmark [matrix|backlog] --reference PATH [options]

        Drains generated EventSauce outbox tables through PostgresSource + RelayEngine into an
        in-process consumer, next to the C program pg_drain running the same SQL.
        DROPS AND RE-CREATES outbox_messages and messages_outbox: use a scratch database
        (Benchmarks/run-postgres.sh starts a temporary server).

          matrix                 every configuration, relay and C interleaved (default)
          backlog                drain one big backlog per configuration, report peak RSS
          --url CONNINFO         libpq URI or conninfo (default $OUTBOX_TEST_POSTGRES_URL, else PG* variables)
          --reference PATH       the pg_drain executable (Benchmarks/Reference/pg_drain.c)
          --psql PATH            the psql executable (default psql)
          --rows N               rows per table (default 100000; backlog 1000000)
          --rounds N             measurements per configuration and program (default 3; backlog 1)
          --flavours LIST        outbox,dispatcher (default both; backlog outbox)
          --after LIST           mark,delete (default both; backlog mark)
          --batch-sizes LIST     default 100,1000,5000; backlog 500 (the relay's default)
          --in-flight N          the engine's maximum batches in flight \
        (default \(RelayEngine.Configuration().maximumBatchesInFlight))
          --write-connection M   the relay's write_connection: separate (default) or shared
          --reference-transaction  also run pg_drain with BEGIN/COMMIT around each mark
          --no-source-loop       matrix: skip the PostgresSource-only loop (fetch/complete, no engine)
          --no-reference         skip the C reference (for profiling)
          --no-relay             matrix: skip the relay (for profiling the source loop)
        """

    /// Parses `arguments` (without the program name).
    /// - Throws: ``UsageError``.
    init(arguments: [String]) throws {
        var remaining = arguments[...]
        func value(_ flag: String) throws -> String {
            guard let next = remaining.popFirst() else { throw UsageError(description: "\(flag) needs a value") }
            return next
        }
        func integer(_ flag: String) throws -> Int {
            let text = try value(flag)
            guard let number = Int(text), number > 0 else {
                throw UsageError(description: "\(flag): \"\(text)\" is not a positive integer")
            }
            return number
        }
        func list<T>(_ flag: String, _ parse: (String) -> T?) throws -> [T] {
            let text = try value(flag)
            return try text.split(separator: ",").map { item in
                guard let parsed = parse(String(item)) else {
                    throw UsageError(description: "\(flag): unknown value \"\(item)\"")
                }
                return parsed
            }
        }
        while let argument = remaining.popFirst() {
            switch argument {
            case "matrix": mode = .matrix
            case "backlog": mode = .backlog
            case "--url": connection = try value(argument)
            case "--reference": referenceExecutable = try value(argument)
            case "--psql": psqlExecutable = try value(argument)
            case "--rows": rows = try integer(argument)
            case "--rounds": rounds = try integer(argument)
            case "--flavours": flavours = try list(argument) { OutboxFlavour(rawValue: $0) }
            case "--after": afterDelivery = try list(argument) { AfterDelivery(rawValue: $0) }
            case "--batch-sizes": batchSizes = try list(argument) { Int($0).flatMap { $0 > 0 ? $0 : nil } }
            case "--in-flight": maximumBatchesInFlight = try integer(argument)
            case "--write-connection":
                let text = try value(argument)
                guard let mode = PostgresSource.Configuration.WriteConnection(rawValue: text) else {
                    throw UsageError(description: "--write-connection: \"\(text)\" is not separate or shared")
                }
                writeConnection = mode
            case "--reference-transaction": measuresReferenceTransaction = true
            case "--no-reference": skipsReference = true
            case "--no-source-loop": measuresSourceLoop = false
            case "--no-relay": skipsRelay = true
            case "-h", "--help": throw UsageError(description: "")
            default: throw UsageError(description: "unknown argument \"\(argument)\"")
            }
        }
        if referenceExecutable == nil && !skipsReference {
            throw UsageError(description: "--reference PATH (the pg_drain executable) is required")
        }
    }

    /// The configurations to measure, in order.
    var configurations: [DrainConfiguration] {
        let flavours = self.flavours ?? (mode == .matrix ? [.outbox, .dispatcher] : [.outbox])
        let modes = afterDelivery ?? (mode == .matrix ? [.mark, .delete] : [.mark])
        let sizes = batchSizes ?? (mode == .matrix ? [100, 1000, 5000] : [500])
        return flavours.flatMap { flavour in
            modes.flatMap { after in
                sizes.map { DrainConfiguration(flavour: flavour, afterDelivery: after, batchSize: $0) }
            }
        }
    }

    /// Rows per table for this mode.
    var effectiveRows: Int { rows ?? (mode == .matrix ? 100_000 : 1_000_000) }

    /// Rounds for this mode.
    var effectiveRounds: Int { rounds ?? (mode == .matrix ? 3 : 1) }

    static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }
}
