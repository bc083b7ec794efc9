#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A command line run through `/bin/sh` with `popen`, for the benchmark's setup steps
/// (`psql`) and the C reference program. Runs in a child process, so it adds nothing to this
/// process's memory high-water mark.
struct ShellCommand {
    /// The failure of a command: its text and exit status.
    struct Failure: Error, CustomStringConvertible {
        var command: String
        var status: Int32
        var description: String { "command failed with status \(status): \(command)" }
    }

    /// The full command line.
    var commandLine: String

    /// Builds a command line from words, quoting each for the shell.
    init(_ words: [String]) {
        commandLine = words.map(ShellCommand.quote).joined(separator: " ")
    }

    /// Quotes `word` for `/bin/sh`.
    static func quote(_ word: String) -> String {
        "'" + word.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
    }

    /// Runs the command, writing `input` to its standard input; its output goes to ours.
    /// - Throws: ``Failure`` when the command exits non-zero.
    func run(input: String) throws {
        guard let pipe = popen(commandLine, "w") else { throw Failure(command: commandLine, status: -1) }
        _ = input.withCString { fputs($0, pipe) }
        let status = pclose(pipe)
        if status != 0 { throw Failure(command: commandLine, status: status) }
    }

    /// Runs the command and returns what it printed on standard output.
    /// - Throws: ``Failure`` when the command exits non-zero.
    func output() throws -> String {
        guard let pipe = popen(commandLine, "r") else { throw Failure(command: commandLine, status: -1) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&buffer, 1, buffer.count, pipe)
            if count <= 0 { break }
            bytes.append(contentsOf: buffer[0..<count])
        }
        let status = pclose(pipe)
        if status != 0 { throw Failure(command: commandLine, status: status) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

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
