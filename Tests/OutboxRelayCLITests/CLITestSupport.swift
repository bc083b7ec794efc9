import Foundation
import Testing

/// Runs the built `outbox-relay` binary and prepares what its tests need.
enum CLI {
    /// Whether this is a CI run, where missing fixtures or services are failures.
    static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"

    /// The repository root (this file is `Tests/OutboxRelayCLITests/CLITestSupport.swift`).
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// `../shared/fixtures/eventsauce`, read in place.
    static let fixtures = repositoryRoot.deletingLastPathComponent().appendingPathComponent(
        "shared/fixtures/eventsauce"
    )

    /// Whether the EventSauce fixtures are present. Tests that need them are skipped without
    /// them, except in CI, where they run and fail.
    static let fixturesAvailable: Bool = {
        let present = FileManager.default.fileExists(atPath: fixtures.path)
        if !present && !isCI {
            print(
                "note: \(fixtures.path) is absent; the interop tests are skipped (they run, "
                    + "and must pass, with CI=true)"
            )
        }
        return present || isCI
    }()

    /// The `outbox-relay` executable next to the test bundle, or `OUTBOX_RELAY_BINARY`.
    static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["OUTBOX_RELAY_BINARY"] { return URL(fileURLWithPath: path) }
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var candidate = products.appendingPathComponent("outbox-relay")
        if !FileManager.default.fileExists(atPath: candidate.path) {
            // macOS: the test bundle is a directory inside the products directory.
            candidate = products.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("outbox-relay")
        }
        return candidate
    }

    /// The `custom-relay-example` executable (Examples/CustomRelay), built next to `outbox-relay`.
    static var customRelayExample: URL {
        binary.deletingLastPathComponent().appendingPathComponent("custom-relay-example")
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var output: String { stdout + stderr }
    }

    /// Runs `outbox-relay ARGUMENTS` (or another `executable`) to completion (at most `timeout`).
    @discardableResult
    static func run(
        _ arguments: [String],
        executable: URL = binary,
        environment: [String: String] = [:],
        timeout: Duration = .seconds(120)
    ) async throws -> Result {
        let process = try start(arguments, executable: executable, environment: environment)
        let deadline = ContinuousClock.now + timeout
        while process.process.isRunning {
            if ContinuousClock.now > deadline {
                process.process.terminate()
                Issue.record("outbox-relay \(arguments.joined(separator: " ")) did not finish within \(timeout)")
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.process.waitUntilExit()
        return Result(
            status: process.process.terminationStatus,
            stdout: process.readStdout(),
            stderr: process.readStderr()
        )
    }

    /// A started `outbox-relay` process; output goes to files so pipes never fill up.
    struct Running {
        let process: Process
        let stdoutURL: URL
        let stderrURL: URL
        func readStdout() -> String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
        func readStderr() -> String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }
    }

    static func start(
        _ arguments: [String],
        executable: URL = binary,
        environment: [String: String] = [:]
    ) throws -> Running {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "outbox-relay-cli-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let stdoutURL = directory.appendingPathComponent("stdout")
        let stderrURL = directory.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return Running(process: process, stdoutURL: stdoutURL, stderrURL: stderrURL)
    }

    /// A fresh temporary folder.
    static func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "outbox-relay-test-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// The `sqlite3` shell, to build databases exactly as PHP's harness did.
enum SQLiteShell {
    @discardableResult
    static func run(_ database: URL, _ sql: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sqlite3", "-batch", database.path]
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(Data(sql.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ShellError(description: "sqlite3 failed (\(process.terminationStatus)): \(errorText)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    struct ShellError: Error, CustomStringConvertible { var description: String }

    /// Single-quotes text for SQL.
    static func literal(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }
}
