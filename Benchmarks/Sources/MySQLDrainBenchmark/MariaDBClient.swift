import DrainBenchmarkSupport
import OutboxMySQL

/// Runs SQL with the `mariadb` (or `mysql`) command-line client against the benchmark
/// database, for setting up and checking tables. The password goes in `MYSQL_PWD`, not on
/// the command line.
struct MariaDBClient {
    /// The client executable.
    var executable: String
    /// The server.
    var url: MySQLConnectionURL

    private func command(_ extra: [String]) -> ShellCommand {
        var words = ["env", "MYSQL_PWD=\(url.password ?? "")", executable, "--no-defaults", "--batch"]
        if let socket = url.socket {
            words += ["--socket=\(socket)"]
        } else {
            words += ["--host=\(url.host)", "--port=\(url.port)", "--protocol=TCP"]
        }
        if let user = url.user { words += ["--user=\(user)"] }
        if let database = url.database { words += ["--database=\(database)"] }
        return ShellCommand(words + extra)
    }

    /// Runs a script of statements.
    /// - Throws: ``ShellCommand/Failure`` when a statement fails.
    func execute(_ script: String) throws {
        _ = try command(["--silent", "-e", script]).output()
    }

    /// Runs one query returning one integer.
    /// - Throws: ``ShellCommand/Failure`` when the query fails or does not return an integer.
    func integer(_ query: String) throws -> Int {
        let text = try command(["--skip-column-names", "-e", query]).output()
        let trimmed = text.filter { !$0.isWhitespace }
        guard let value = Int(trimmed) else {
            throw ShellCommand.Failure(command: query + " returned \"\(text)\"", status: 0)
        }
        return value
    }
}
