import Foundation
import Testing

/// `retry.park_after`, `retry.max_age` and the parked-queue caps: accepted forms, and mistakes
/// that name the key.
@Suite("parking configuration")
struct ParkingConfigTests {
    static func config(retry: String, relay: String = "") -> String {
        CheckCommandTests.valid.replacingOccurrences(
            of: "path: /dev/null",
            with: "path: /dev/null\n    retry: {\(retry)}"
        ) + (relay.isEmpty ? "" : "\nrelay:\n  \(relay)\n")
    }

    @Test(arguments: [
        "park_after: 3", "park_after: 5s", "park_after: never", "max_age: 2h", "max_age: unlimited",
        "park_after: 1, max_age: 30m, max_attempts: unlimited",
    ])
    func acceptedForms(retry: String) async throws {
        let files = try CheckCommandTests.write(Self.config(retry: retry, relay: "max_parked_messages: 5000"))
        let result = try await CLI.run(["check", "--offline", "--config", files.config.path])
        #expect(result.status == 0, "\(retry): \(result.output)")
    }

    @Test(arguments: [
        ("park_after: 0", "transports.out.retry.park_after"), ("park_after: soon", "transports.out.retry.park_after"),
        ("max_age: forever", "transports.out.retry.max_age"),
    ])
    func mistakesNameTheKey(retry: String, keyPath: String) async throws {
        let files = try CheckCommandTests.write(Self.config(retry: retry))
        let result = try await CLI.run(["check", "--offline", "--config", files.config.path])
        #expect(result.status != 0, "\(retry) was accepted")
        #expect(result.output.contains("\"\(keyPath)\""), "\(result.output)")
    }

    @Test func aParkedCapBelowOneIsRefused() async throws {
        let files = try CheckCommandTests.write(Self.config(retry: "park_after: 3", relay: "max_parked_bytes: 0"))
        let result = try await CLI.run(["check", "--offline", "--config", files.config.path])
        #expect(result.status != 0)
        #expect(result.output.contains("\"relay.max_parked_bytes\""), "\(result.output)")
    }

    @Test func schemaPrintsTheParkedTable() async throws {
        for dialect in ["sqlite", "postgres", "mysql"] {
            let result = try await CLI.run(["schema", "--flavour", "outbox", "--dialect", dialect])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.contains("outbox_relay_parked_deliveries"), "\(dialect)")
        }
    }
}
