import Foundation
import OutboxRelay
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One `outbox-relay run --config … [--drain]` process writing to its own JSON-lines file, for
/// the process tests of every database source (several relays on one table, SIGKILL, standby
/// readiness).
public final class RelayProcess: @unchecked Sendable {
    /// One delivered message, as the `file` transport wrote it.
    public struct Line: Sendable {
        public var rowID: String
        public var aggregate: String
        public var version: Int64
    }

    /// An HTTP answer of the monitoring server.
    public struct Response: Sendable {
        public var status: Int
        public var body: String
    }

    /// The process did not do what the test waited for.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public let index: Int
    public let process = Process()
    public let outputPath: String
    public let logPath: String
    public var pid: Int32 { process.processIdentifier }

    /// Writes the configuration and starts the process: `source.url`, `flavour`, `table` (when
    /// given), `batch_size`, a 200 ms standby poll interval, one `file` transport every event is
    /// routed to, then `extraConfiguration` (top-level YAML).
    public init(
        binary: String,
        directory: String,
        index: Int,
        url: String,
        table: String? = nil,
        flavour: String = "outbox",
        drain: Bool,
        batchSize: Int = 500,
        extraConfiguration: String = ""
    ) throws {
        self.index = index
        outputPath = "\(directory)/relay-\(index).jsonl"
        logPath = "\(directory)/relay-\(index).log"
        let configPath = "\(directory)/relay-\(index).yaml"
        let yaml = """
            source:
              url: "\(url)"
              flavour: \(flavour)
            \(table.map { "  table: \($0)" } ?? "")
              batch_size: \(batchSize)
              standby_poll_interval: 200ms
            transports:
              out:
                type: file
                path: "\(outputPath)"
            routes:
              - events: "*"
                to: [out]
            \(extraConfiguration)
            """
        try yaml.write(toFile: configPath, atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["run", "--config", configPath] + (drain ? ["--drain"] : [])
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// Polls until the process exits; SIGKILLs it and records an issue after `timeout`.
    public func waitForExit(timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                kill(process.processIdentifier, SIGKILL)
                Issue.record("relay \(index) did not exit within \(timeout): \(log.suffix(2000))")
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        while process.isRunning { try await Task.sleep(for: .milliseconds(10)) }
    }

    /// The exit status, `nil` while running.
    public var exitStatus: Int32? { process.isRunning ? nil : process.terminationStatus }

    /// Everything the process wrote to standard output and error so far.
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// The delivered messages, in file order.
    public func deliveredLines() throws -> [Line] {
        guard let data = FileManager.default.contents(atPath: outputPath) else { return [] }
        var lines: [Line] = []
        for raw in data.split(separator: UInt8(ascii: "\n")) where !raw.isEmpty {
            // a SIGKILL may cut the last line
            guard let object = try? JSONParser.parse(Array(raw)).objectValue else { continue }
            lines.append(
                Line(
                    rowID: object["row_id"]?.textValue ?? "",
                    aggregate: object["aggregate_root_id"]?.textValue ?? "",
                    version: object["aggregate_root_version"]?.int64Value ?? 0
                )
            )
        }
        return lines
    }

    // MARK: - Monitoring

    /// The monitoring server's base URL, from its "listening on" log line.
    public func monitoringURL() async throws -> URL {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let range = log.range(of: "monitoring server listening on "),
                let url = URL(string: "http://\(log[range.upperBound...].prefix { $0 != " " && $0 != "\n" })")
            {
                return url
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw Failure(description: "relay \(index) started no monitoring server: \(log.suffix(2000))")
    }

    /// `GET url` with a 5 s timeout.
    public func get(_ url: URL) async throws -> Response {
        var request = URLRequest(url: url)
        request.timeoutInterval = 5
        let (data, response) = try await URLSession.shared.data(for: request)
        return Response(
            status: (response as? HTTPURLResponse)?.statusCode ?? 0,
            body: String(decoding: data, as: UTF8.self)
        )
    }

    /// Polls `/readyz` until `condition` holds (at most 30 s; records an issue and returns the
    /// last answer otherwise).
    public func readyz(base: URL, until condition: (Response) -> Bool) async throws -> Response {
        let deadline = ContinuousClock.now + .seconds(30)
        var last = Response(status: 0, body: "")
        while ContinuousClock.now < deadline {
            last = try await get(base.appendingPathComponent("readyz"))
            if condition(last) { return last }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record(
            "/readyz of relay \(index) never got there; last: \(last.status) \(last.body)\n\(log.suffix(2000))"
        )
        return last
    }

    /// The value of `outbox_relay_active{table=…}` on `/metrics`.
    public func activeGauge(base: URL) async throws -> Double? {
        let metrics = try await get(base.appendingPathComponent("metrics")).body
        for line in metrics.split(separator: "\n") where line.hasPrefix("outbox_relay_active{") {
            return line.split(separator: " ").last.flatMap { Double($0) }
        }
        return nil
    }

    // MARK: - Setup

    /// The `outbox-relay` binary next to the test bundle (or `OUTBOX_RELAY_BINARY`).
    public static func requireBinary(sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        if let path = ProcessInfo.processInfo.environment["OUTBOX_RELAY_BINARY"] { return path }
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var candidates = [products.appendingPathComponent("outbox-relay").path]
        candidates.append(
            products.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("outbox-relay").path
        )
        let found = candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
        return try #require(
            found,
            "the outbox-relay binary is not next to the test bundle (\(candidates[0])); build it with swift build",
            sourceLocation: sourceLocation
        )
    }

    /// A new temporary directory for the relays' configuration, output and logs.
    public static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "outbox-relay-processes-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
