import Logging
import MetricsTestKit
import Synchronization
import Testing

@testable import OutboxRelay

/// The engine's ``RelayHealth`` snapshot: the standby phase reported by a ``RelayLockReporting``
/// source, and the counters a progress display reads.
@Suite("RelayHealth")
struct RelayHealthTests {
    /// Wraps an in-memory outbox as a source with a relay lock that the test hands over.
    final class LockedOutbox: OutboxSource, RelayLockReporting {
        let base: InMemoryOutbox
        let lockFree = Gate()
        let observer = Mutex<(@Sendable (RelayLockState) -> Void)?>(nil)
        var flavour: OutboxFlavour { base.flavour }
        var table: String { base.table }

        init(_ base: InMemoryOutbox) { self.base = base }

        func reportLockState(to observer: @escaping @Sendable (RelayLockState) -> Void) async {
            self.observer.withLock { $0 = observer }
        }

        func report(_ state: RelayLockState) { observer.withLock { $0 }?(state) }

        func open() async throws {
            report(.connecting)
            report(.standby(holder: "relay pid 7"))
            await lockFree.wait()
            report(.connected)
        }

        func close() async {}
        func fetch(limit: Int, after cursor: OutboxCursor?) async throws -> [OutboxRow] {
            try await base.fetch(limit: limit, after: cursor)
        }
        func complete(rows: [OutboxRowID], deadLetters: [DeadLetter]) async throws {
            try await base.complete(rows: rows, deadLetters: deadLetters)
        }
    }

    @Test(
        "standby while another relay holds the lock (not active), relaying once it is free; reconnecting is not ready"
    )
    func standbyPhaseFollowsTheSource() async throws {
        let payloads = (1...30).map { outboxPayload(aggregate: "a\($0 % 3)", version: $0) }
        let source = LockedOutbox(InMemoryOutbox(payloads: payloads + [Array("{".utf8)]))
        let metrics = TestMetrics()
        let sink = RecordingTransport(name: "sink")
        let engine = try RelayMetricsTests.engine(source, [sink], metrics: metrics)
        let active = { try? metrics.expectGauge(RelayMetrics.Name.active, [("table", "outbox_messages")]).lastValue }
        let run = Task { try await engine.run() }
        defer { run.cancel() }

        try await eventually { engine.health.phase == .standby }
        #expect(engine.health.lockHolder == "relay pid 7")
        #expect(active() == 0)
        #expect(sink.calls == 0)

        await source.lockFree.open()
        try await eventually { engine.health.phase == .relaying && engine.health.rowsCompleted == 31 }
        #expect(engine.health.lockHolder == nil)
        #expect(engine.health.deadLetters == 1)
        #expect(active() == 1)

        // The connection is lost mid-run: connecting again (not ready), then a standby, then active.
        source.report(.connecting)
        #expect(engine.health.phase == .opening)
        #expect(active() == 0)
        source.report(.standby(holder: nil))
        #expect(engine.health.phase == .standby)
        source.report(.connected)
        #expect(engine.health.phase == .relaying)
        #expect(active() == 1)

        run.cancel()
        _ = try? await run.value
        #expect(engine.health.phase == .stopped)
        #expect(active() == 0)
    }
}
