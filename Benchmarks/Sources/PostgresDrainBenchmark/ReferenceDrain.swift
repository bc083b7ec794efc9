/// Runs the C reference program `pg_drain` (Benchmarks/Reference/pg_drain.c) on one
/// configuration and reads its result line.
struct ReferenceDrain {
    /// The failure to run or understand `pg_drain`.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Path of the `pg_drain` executable.
    var executable: String
    /// The libpq connection string (empty: PG* environment variables).
    var connection: String
    /// Wrap each mark/delete in BEGIN/COMMIT, as the relay does. Default `false`: autocommit,
    /// the physical minimum.
    var usesTransaction = false

    /// Drains the table once.
    /// - Throws: ``Failure`` or ``ShellCommand/Failure``.
    func run(_ configuration: DrainConfiguration) throws -> DrainMeasurement {
        var words = [
            executable, connection, configuration.flavour.rawValue, configuration.afterDelivery.rawValue,
            String(configuration.batchSize),
        ]
        if usesTransaction { words.append("--transaction") }
        let line = try ShellCommand(words).output()
        // pg_drain flavour=… after=… batch=… rows=… bytes=… seconds=… msgs_per_s=… max_rss_kb=…
        var fields: [Substring: Substring] = [:]
        for word in line.split(whereSeparator: \.isWhitespace) {
            guard let equals = word.firstIndex(of: "=") else { continue }
            fields[word[..<equals]] = word[word.index(after: equals)...]
        }
        guard let rows = fields["rows"].flatMap({ Int($0) }),
            let bytes = fields["bytes"].flatMap({ Int($0) }),
            let seconds = fields["seconds"].flatMap({ Double($0) })
        else {
            throw Failure(description: "pg_drain printed an unexpected line: \(line)")
        }
        return DrainMeasurement(
            rows: rows,
            bytes: bytes,
            seconds: seconds,
            peakResidentKiB: fields["max_rss_kb"].flatMap { Int($0) },
            cpuSeconds: fields["cpu_seconds"].flatMap { Double($0) } ?? 0
        )
    }
}
