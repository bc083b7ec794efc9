import Logging
import MetricsTestKit
import Synchronization
import Testing

@testable import OutboxRelay

/// The engine logs constant messages with structured metadata (table, destination, batch, row
/// and event ids), never values interpolated into the message.
@Suite("RelayEngine logging")
struct RelayEngineLoggingTests {
    /// Records every log call.
    struct RecordingLogHandler: LogHandler {
        struct Record: Sendable {
            var level: Logger.Level
            var message: String
            var metadata: [String: String]
        }

        let recorded: Recorded
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            recorded.records.withLock {
                $0.append(
                    .init(level: event.level, message: "\(event.message)", metadata: merged.mapValues { "\($0)" })
                )
            }
        }
    }

    final class Recorded: Sendable {
        let records = Mutex<[RecordingLogHandler.Record]>([])
        var logger: Logger { Logger(label: "test") { _ in RecordingLogHandler(recorded: self) } }
        func first(_ message: String) -> RecordingLogHandler.Record? {
            records.withLock { $0.first { $0.message == message } }
        }
    }

    @Test("dead letters, retries and unrouted events carry their values as metadata")
    func metadataInsteadOfInterpolation() async throws {
        let payloads = [
            outboxPayload(aggregate: "a", version: 1),
            outboxPayload(aggregate: "b", version: 1),
            outboxPayload(type: "acme.unrouted", aggregate: "c", version: 1),
        ]
        let source = InMemoryOutbox(payloads: payloads)
        let sink = RecordingTransport(
            name: "sink",
            script: { attempt, message in
                if message.eventID == "a-1" { return .permanent("HTTP 400") }
                if message.eventID == "b-1", attempt == 1 { return .retryable("HTTP 503") }
                return .delivered
            }
        )
        let recorded = Recorded()
        let engine = try RelayEngine(
            source: source,
            transports: [sink],
            routing: try RoutingTable(rules: [.init(events: try EventTypePattern("acme.shop.*"), to: ["sink"])]),
            configuration: .init(retry: RelayEngineTests.fastRetry),
            logger: recorded.logger
        )
        _ = try await engine.drain()

        let setAside = try #require(recorded.first("message set aside in the dead-letter table"))
        #expect(setAside.level == .error)
        #expect(setAside.metadata["table"] == "outbox_messages")
        #expect(setAside.metadata["destination"] == "sink")
        #expect(setAside.metadata["event_id"] == "a-1")
        #expect(setAside.metadata["row_id"] == "1")
        #expect(setAside.metadata["batch"] == "0")
        #expect(setAside.metadata["error"] == "HTTP 400")

        let retry = try #require(recorded.first("delivery failed; retrying the failed messages"))
        #expect(retry.metadata["destination"] == "sink")
        #expect(retry.metadata["messages"] == "1")
        #expect(retry.metadata["attempt"] == "1")
        #expect(retry.metadata["error"] == "HTTP 503")
        #expect(retry.metadata["batch"] == "0")

        let unrouted = try #require(
            recorded.first("no route matches the event type; skipping such messages (unrouted: skip)")
        )
        #expect(unrouted.metadata["event_type"] == "acme.unrouted")
        #expect(unrouted.metadata["table"] == "outbox_messages")

        let relaying = try #require(recorded.first("relaying"))
        #expect(relaying.metadata["destinations"] == "[sink]" || relaying.metadata["destinations"] == "[\"sink\"]")

        // No message names a value: ids, counts and reasons are in the metadata only.
        for record in recorded.records.withLock({ $0 }) {
            for value in ["a-1", "b-1", "acme.unrouted", "HTTP 400", "HTTP 503"] {
                #expect(!record.message.contains(value), "\(record.message)")
            }
        }
    }
}
