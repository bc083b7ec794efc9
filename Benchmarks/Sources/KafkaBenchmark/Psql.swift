#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs SQL through the `psql` client (setup only: generating and resetting rows), in a child
/// process so it adds nothing to this process's measurements.
struct Psql {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The libpq URI or conninfo.
    var connection: String

    private func commandLine(_ extra: [String]) -> String {
        (["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", connection] + extra).map(Self.quote).joined(separator: " ")
    }

    static func quote(_ word: String) -> String {
        "'" + word.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
    }

    /// Runs a script.
    /// - Throws: ``Failure`` when psql exits non-zero.
    func execute(_ script: String) throws {
        let command = commandLine(["-o", "/dev/null"])
        guard let pipe = popen(command, "w") else { throw Failure(description: "cannot run psql") }
        _ = ("SET client_min_messages = warning;\n" + script).withCString { fputs($0, pipe) }
        let status = pclose(pipe)
        if status != 0 { throw Failure(description: "psql failed with status \(status)") }
    }

    /// Runs a query returning one integer.
    /// - Throws: ``Failure`` when psql fails or prints no integer.
    func integer(_ query: String) throws -> Int {
        guard let pipe = popen(commandLine(["-A", "-t", "-c", query]), "r") else {
            throw Failure(description: "cannot run psql")
        }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&buffer, 1, buffer.count, pipe)
            if count <= 0 { break }
            bytes.append(contentsOf: buffer[0..<count])
        }
        let status = pclose(pipe)
        let text = String(decoding: bytes, as: UTF8.self).filter { !$0.isWhitespace }
        guard status == 0, let value = Int(text) else {
            throw Failure(description: "\(query) returned \"\(text)\" (status \(status))")
        }
        return value
    }
}
