import DrainBenchmarkSupport
import OutboxRelay

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// PostgreSQL drain benchmark: see Benchmarks/README.md ("PostgreSQL drain") and
// Benchmarks/run-postgres.sh, which builds everything, starts a temporary server and runs it.

let options: BenchmarkOptions
do {
    options = try BenchmarkOptions(arguments: Array(CommandLine.arguments.dropFirst()))
} catch {
    let message = String(describing: error)
    Console.error((message.isEmpty ? "" : "error: \(message)\n\n") + BenchmarkOptions.usage)
    exit(message.isEmpty ? 0 : 2)
}

// As `outbox-relay run` does (pg_drain.c does the same): keep freed batch memory for reuse.
MemoryAllocator.keepFreedMemory()

let benchmark = DrainBenchmark(options: options)
do {
    switch options.mode {
    case .matrix: try await benchmark.runMatrix()
    case .backlog: try await benchmark.runBacklog()
    }
} catch {
    Console.error("PostgresDrainBenchmark failed: \(error)")
    exit(1)
}
