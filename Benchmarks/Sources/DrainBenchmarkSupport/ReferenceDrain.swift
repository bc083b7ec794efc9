/// Runs a C reference drain (`Benchmarks/Reference/pg_drain.c`, `mysql_drain.c`) on one
/// configuration and reads its result line.
///
/// Every reference takes `CONNECTION FLAVOUR AFTER BATCH_SIZE [EXTRA…]` and prints one line
/// of `key=value` words: `rows=… bytes=… seconds=… max_rss_kb=… cpu_seconds=…` (the rest is
/// for people).
public struct ReferenceDrain: Sendable {
    /// The failure to run or understand the reference program.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Path of the executable.
    public var executable: String
    /// The connection argument (libpq conninfo, MySQL URL).
    public var connection: String
    /// Arguments after the batch size (e.g. `--transaction`).
    public var extraArguments: [String]

    /// Creates a reference drain.
    public init(executable: String, connection: String, extraArguments: [String] = []) {
        self.executable = executable
        self.connection = connection
        self.extraArguments = extraArguments
    }

    /// Drains the table once.
    /// - Throws: ``Failure`` or ``ShellCommand/Failure``.
    public func run(_ configuration: DrainConfiguration) throws -> DrainMeasurement {
        let words =
            [
                executable, connection, configuration.flavour.rawValue, configuration.afterDelivery.rawValue,
                String(configuration.batchSize),
            ] + extraArguments
        let line = try ShellCommand(words).output()
        var fields: [Substring: Substring] = [:]
        for word in line.split(whereSeparator: \.isWhitespace) {
            guard let equals = word.firstIndex(of: "=") else { continue }
            fields[word[..<equals]] = word[word.index(after: equals)...]
        }
        guard let rows = fields["rows"].flatMap({ Int($0) }),
            let bytes = fields["bytes"].flatMap({ Int($0) }),
            let seconds = fields["seconds"].flatMap({ Double($0) })
        else {
            throw Failure(description: "\(executable) printed an unexpected line: \(line)")
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
