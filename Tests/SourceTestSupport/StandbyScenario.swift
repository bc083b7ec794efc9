import OutboxRelay
import Testing

/// The hot-standby readiness scenario every locking database source runs with real relay
/// processes.
public enum StandbyScenario {
    /// Starts relay 0 (`start(0)`, with a monitoring server) on a table holding `rows` rows and
    /// checks it is ready and active; starts relay 1 and checks it is ready *as a standby*
    /// (`/readyz` 200 `{"status":"standby","active_relay":…}` with `expectedHolder` in the
    /// holder's description, `outbox_relay_active 0`) while relay 0 delivers every row; stops
    /// relay 0 and checks relay 1 takes over (ready, active) and relays rows added then
    /// (`insertRows(10)`).
    public static func standbyIsReady(
        rows: Int,
        start: (Int) throws -> RelayProcess,
        expectedHolder: (RelayProcess) -> String,
        insertRows: (Int) throws -> Void,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let active = try start(0)
        let activeBase = try await active.monitoringURL()
        let activeReady = try await active.readyz(base: activeBase, until: { $0.status == 200 })
        #expect(activeReady.body == #"{"status":"ok"}"#, sourceLocation: sourceLocation)
        #expect(try await active.activeGauge(base: activeBase) == 1, sourceLocation: sourceLocation)

        let standby = try start(1)
        let standbyBase = try await standby.monitoringURL()
        let standbyReady = try await standby.readyz(base: standbyBase, until: { $0.body.contains("standby") })
        #expect(standbyReady.status == 200, "\(standbyReady.body)", sourceLocation: sourceLocation)
        let body = try #require(try JSONParser.parse(standbyReady.body).objectValue, sourceLocation: sourceLocation)
        #expect(body["status"]?.stringValue == "standby", sourceLocation: sourceLocation)
        #expect(
            body["active_relay"]?.stringValue?.contains(expectedHolder(active)) == true,
            "the body names the active relay (\(expectedHolder(active))): \(standbyReady.body)",
            sourceLocation: sourceLocation
        )
        #expect(try await standby.activeGauge(base: standbyBase) == 0, sourceLocation: sourceLocation)
        #expect(try await active.activeGauge(base: activeBase) == 1, sourceLocation: sourceLocation)
        try await eventually("the active relay delivered every row", sourceLocation: sourceLocation) {
            try active.deliveredLines().count >= rows
        }
        #expect(try active.deliveredLines().count == rows, sourceLocation: sourceLocation)
        #expect(try standby.deliveredLines().isEmpty, sourceLocation: sourceLocation)

        // The active relay stops: the standby takes over, active and ready as such.
        active.process.terminate()
        try await active.waitForExit(timeout: .seconds(30))
        let tookOver = try await standby.readyz(base: standbyBase, until: { $0.body == #"{"status":"ok"}"# })
        #expect(tookOver.status == 200, sourceLocation: sourceLocation)
        #expect(try await standby.activeGauge(base: standbyBase) == 1, sourceLocation: sourceLocation)
        try insertRows(10)
        try await eventually("the former standby relays new rows", sourceLocation: sourceLocation) {
            try standby.deliveredLines().count >= 10
        }
        #expect(try standby.deliveredLines().count == 10, "the former standby relays", sourceLocation: sourceLocation)
        standby.process.terminate()
        try await standby.waitForExit(timeout: .seconds(30))
    }
}
