import DrainBenchmarkSupport

/// Runs SQL with the `psql` client against the benchmark database.
struct PsqlClient {
    /// The `psql` executable.
    var executable: String = "psql"
    /// The libpq connection string or URI (empty: PG* environment variables).
    var connection: String

    private func command(_ extra: [String]) -> ShellCommand {
        var words = [executable, "-X", "-q", "-v", "ON_ERROR_STOP=1"]
        if !connection.isEmpty { words += ["-d", connection] }
        return ShellCommand(words + extra)
    }

    /// Runs a script of statements.
    /// - Throws: ``ShellCommand/Failure`` when a statement fails.
    func execute(_ script: String) throws {
        try command(["-o", "/dev/null"]).run(input: "SET client_min_messages = warning;\n" + script)
    }

    /// Runs one query returning one integer.
    /// - Throws: ``ShellCommand/Failure`` when the query fails or does not return an integer.
    func integer(_ query: String) throws -> Int {
        let text = try command(["-A", "-t", "-c", query]).output()
        let trimmed = text.filter { !$0.isWhitespace }
        guard let value = Int(trimmed) else {
            throw ShellCommand.Failure(command: query + " returned \"\(text)\"", status: 0)
        }
        return value
    }
}
