import DrainBenchmarkSupport
import OutboxRelay

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The benchmark's command line.
struct MySQLBenchmarkOptions {
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
    /// The server URL. Default `$OUTBOX_TEST_MYSQL_URL`.
    var url: String? = MySQLBenchmarkOptions.environment("OUTBOX_TEST_MYSQL_URL")
    /// The `mysql_drain` executable.
    var referenceExecutable: String?
    /// The command-line client. Default `mariadb`.
    var clientExecutable = "mariadb"
    var rows: Int?
    var rounds: Int?
    var flavours: [OutboxFlavour]?
    var afterDelivery: [AfterDelivery]?
    var batchSizes: [Int]?
    var maximumBatchesInFlight = RelayEngine.Configuration().maximumBatchesInFlight
    var measuresSourceLoop = true
    var skipsReference = false

    static let usage = """
        USAGE: MySQLDrainBenchmark [matrix|backlog] --reference PATH [options]

        Drains generated EventSauce outbox tables through MySQLSource + RelayEngine into an
        in-process consumer, next to the C program mysql_drain running the same SQL.
        DROPS AND RE-CREATES outbox_messages and messages_outbox: use a scratch database
        (Benchmarks/run-mysql.sh starts a temporary MariaDB).

          matrix                 every configuration, relay and C interleaved (default)
          backlog                drain one big backlog per configuration, report peak RSS
          --url URL              mysql://user:password@host:port/database (default $OUTBOX_TEST_MYSQL_URL)
          --reference PATH       the mysql_drain executable (Benchmarks/Reference/mysql_drain.c)
          --client PATH          the mariadb/mysql command-line client (default mariadb)
          --rows N               rows per table (default 100000; backlog 1000000)
          --rounds N             measurements per configuration and program (default 3; backlog 1)
          --flavours LIST        outbox,dispatcher (default both; backlog outbox)
          --after LIST           mark,delete (default both; backlog mark)
          --batch-sizes LIST     default 100,1000,5000; backlog 500 (the relay's default)
          --in-flight N          the engine's maximum batches in flight \
        (default \(RelayEngine.Configuration().maximumBatchesInFlight))
          --no-source-loop       matrix: skip the MySQLSource-only loop (fetch/complete, no engine)
          --no-reference         skip the C reference
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
            try value(flag).split(separator: ",").map { item in
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
            case "--url": url = try value(argument)
            case "--reference": referenceExecutable = try value(argument)
            case "--client": clientExecutable = try value(argument)
            case "--rows": rows = try integer(argument)
            case "--rounds": rounds = try integer(argument)
            case "--flavours": flavours = try list(argument) { OutboxFlavour(rawValue: $0) }
            case "--after": afterDelivery = try list(argument) { AfterDelivery(rawValue: $0) }
            case "--batch-sizes": batchSizes = try list(argument) { Int($0).flatMap { $0 > 0 ? $0 : nil } }
            case "--in-flight": maximumBatchesInFlight = try integer(argument)
            case "--no-source-loop": measuresSourceLoop = false
            case "--no-reference": skipsReference = true
            case "-h", "--help": throw UsageError(description: "")
            default: throw UsageError(description: "unknown argument \"\(argument)\"")
            }
        }
        if url == nil { throw UsageError(description: "--url URL (or OUTBOX_TEST_MYSQL_URL) is required") }
        if referenceExecutable == nil && !skipsReference {
            throw UsageError(description: "--reference PATH (the mysql_drain executable) is required")
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
