import Foundation
import InMemoryLogging
import Logging
import OutboxHTTP
import OutboxRelay
import Testing

/// W3C trace context from EventSauce headers, through the webhook transport to a real local
/// receiver: request headers in every body format, CloudEvents attributes in that format.
@Suite(
    "Webhook transport: trace context",
    .enabled(if: TestEnvironment.serverTestsEnabled, TestEnvironment.serverSkipMessage)
)
struct WebhookTransportTraceContextTests {
    static let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    static let state = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"

    /// A message decoded from stored bytes, as the engine hands it over.
    static func message(row: Int64, traceHeaders: String) throws -> OutboxMessage {
        let text =
            #"{"headers":{"__event_type":"acme.shop.order_placed","__event_id":"event-\#(row)","#
            + #""__aggregate_root_id":"order-\#(row)","__aggregate_root_version":1,"#
            + traceHeaders + #""__time_of_recording":"2024-03-14 05:04:50.163498+0000"},"payload":{"n":\#(row)}}"#
        return try EnvelopeDecoder(table: "outbox_messages").decode(
            OutboxRow(id: .integer(row), payload: Array(text.utf8))
        )
    }

    @Test(
        "valid traceparent and tracestate arrive as request headers; invalid ones are dropped and logged",
        arguments: WebhookTransport.Configuration.BodyFormat.allCases
    )
    func traceContextArrives(_ format: WebhookTransport.Configuration.BodyFormat) async throws {
        let server = try await WebhookTestServer()
        defer { server.stop() }
        let messages = [
            try Self.message(row: 1, traceHeaders: #""traceparent":"\#(Self.parent)","tracestate":"\#(Self.state)","#),
            try Self.message(row: 2, traceHeaders: #""__traceparent":"\#(Self.parent)","#),
            try Self.message(row: 3, traceHeaders: #""traceparent":"00-BAD\r\nx-injected: 1","#),
            try Self.message(row: 4, traceHeaders: #""traceparent":"\#(Self.parent)","tracestate":"Not Valid","#),
            try Self.message(row: 5, traceHeaders: ""),
        ]
        var configuration = WebhookTransport.Configuration(url: server.url("/ok"))
        configuration.network.allowPrivateNetworks = true
        configuration.bodyFormat = format
        let logs = InMemoryLogHandler()
        var logger = Logger(label: "test") { _ in logs }
        logger.logLevel = .debug
        let transport = try WebhookTransport(name: "hook", configuration: configuration, logger: logger)
        try await transport.start()
        let results = await transport.deliver(messages)
        await transport.shutdown()
        #expect(results == Array(repeating: .delivered, count: messages.count))

        let byID = Dictionary(uniqueKeysWithValues: server.requests().map { ($0.webhookID, $0) })
        func expectTrace(
            _ id: String,
            parent: String?,
            state: String?,
            sourceLocation: SourceLocation = #_sourceLocation
        ) throws {
            let request = try #require(byID[id], sourceLocation: sourceLocation)
            #expect(request.headers["traceparent"] == parent, sourceLocation: sourceLocation)
            #expect(request.headers["tracestate"] == state, sourceLocation: sourceLocation)
            #expect(request.headers["x-injected"] == nil, sourceLocation: sourceLocation)
            let body = try #require(
                try JSONSerialization.jsonObject(with: Data(request.body.utf8)) as? [String: Any],
                sourceLocation: sourceLocation
            )
            if format == .cloudevents {
                #expect(body["traceparent"] as? String == parent, sourceLocation: sourceLocation)
                #expect(body["tracestate"] as? String == state, sourceLocation: sourceLocation)
                #expect(body["specversion"] as? String == "1.0", sourceLocation: sourceLocation)
            } else {
                #expect(body["traceparent"] == nil, sourceLocation: sourceLocation)
            }
        }
        try expectTrace("event-1", parent: Self.parent, state: Self.state)
        try expectTrace("event-2", parent: Self.parent, state: nil)
        try expectTrace("event-3", parent: nil, state: nil)
        try expectTrace("event-4", parent: Self.parent, state: nil)
        try expectTrace("event-5", parent: nil, state: nil)

        let dropped = logs.entries.filter { $0.message.description == "trace context header dropped" }
        #expect(dropped.count == 2)
        #expect(dropped.allSatisfy { $0.level == .debug && $0.metadata["destination"] == "hook" })
        #expect(dropped.map { $0.metadata["event_id"] } == ["event-3", "event-4"])
        #expect(dropped.map { $0.metadata["header"] } == ["traceparent", "tracestate"])
    }
}
