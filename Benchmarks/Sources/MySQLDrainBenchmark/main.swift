import DrainBenchmarkSupport
import OutboxRelay

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MySQL/MariaDB drain benchmark: see Benchmarks/README.md ("MySQL drain") and
// Benchmarks/run-mysql.sh, which builds everything, starts a temporary MariaDB and runs it.

let options: MySQLBenchmarkOptions
do {
    options = try MySQLBenchmarkOptions(arguments: Array(CommandLine.arguments.dropFirst()))
} catch {
    let message = String(describing: error)
    Console.error((message.isEmpty ? "" : "error: \(message)\n\n") + MySQLBenchmarkOptions.usage)
    exit(message.isEmpty ? 0 : 2)
}

// As `outbox-relay run` does (mysql_drain.c does the same): keep freed batch memory for reuse.
MemoryAllocator.keepFreedMemory()

do {
    let benchmark = try MySQLDrainBenchmark(options: options)
    switch options.mode {
    case .matrix:
        try await benchmark.runMatrix(
            configurations: options.configurations,
            rounds: options.effectiveRounds,
            maximumBatchesInFlight: options.maximumBatchesInFlight
        )
    case .backlog:
        try await benchmark.runBacklog(configurations: options.configurations)
    }
} catch {
    Console.error("MySQLDrainBenchmark failed: \(error)")
    exit(1)
}
