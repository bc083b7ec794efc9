#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A command line run through `/bin/sh` with `popen`, for the benchmark's setup steps
/// (`psql`) and the C reference program. Runs in a child process, so it adds nothing to this
/// process's memory high-water mark.
public struct ShellCommand {
    /// The failure of a command: its text and exit status.
    public struct Failure: Error, CustomStringConvertible {
        public var command: String
        public var status: Int32

        public init(command: String, status: Int32) {
            self.command = command
            self.status = status
        }

        public var description: String { "command failed with status \(status): \(command)" }
    }

    /// The full command line.
    public var commandLine: String

    /// Builds a command line from words, quoting each for the shell.
    public init(_ words: [String]) {
        commandLine = words.map(ShellCommand.quote).joined(separator: " ")
    }

    /// Quotes `word` for `/bin/sh`.
    public static func quote(_ word: String) -> String {
        "'" + word.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
    }

    /// Runs the command, writing `input` to its standard input; its output goes to ours.
    /// - Throws: ``Failure`` when the command exits non-zero.
    public func run(input: String) throws {
        guard let pipe = popen(commandLine, "w") else { throw Failure(command: commandLine, status: -1) }
        _ = input.withCString { fputs($0, pipe) }
        let status = pclose(pipe)
        if status != 0 { throw Failure(command: commandLine, status: status) }
    }

    /// Runs the command and returns what it printed on standard output.
    /// - Throws: ``Failure`` when the command exits non-zero.
    public func output() throws -> String {
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
