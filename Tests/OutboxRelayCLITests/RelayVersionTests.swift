import Foundation
import Testing

/// `outbox-relay --version` prints the relay's version and the C libraries it runs with.
@Suite("outbox-relay --version")
struct RelayVersionTests {
    /// `pkg-config --modversion NAME`: the Debian package's version, which the binary links.
    static func packageVersion(_ name: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["pkg-config", "--modversion", name]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func printsTheRelayAndLibraryVersions() async throws {
        let result = try await CLI.run(["--version"])
        #expect(result.status == 0, "\(result.output)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        let first = try #require(lines.first)
        #expect(
            first.wholeMatch(of: /outbox-relay \d+\.\d+\.\d+(-[0-9A-Za-z.]+)?/) != nil,
            "first line is not `outbox-relay X.Y.Z`: \(first)"
        )
        for (label, package) in [
            ("sqlite", "sqlite3"), ("libpq", "libpq"), ("libmariadb", "libmariadb"), ("librdkafka", "rdkafka"),
        ] {
            let expected = try Self.packageVersion(package)
            #expect(!expected.isEmpty)
            let line = lines.first { $0.trimmingCharacters(in: .whitespaces).hasPrefix(label + " ") }
            #expect(
                line?.split(separator: " ").last.map(String.init) == expected,
                "\(label): expected \(expected) in \(result.stdout)"
            )
        }
        let curl = try Self.packageVersion("libcurl")
        #expect(result.stdout.contains("libcurl/\(curl)"), "\(result.stdout)")
    }
}
