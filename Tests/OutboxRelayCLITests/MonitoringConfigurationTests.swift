import OutboxRelay
import Testing

@testable import OutboxRelayCLI

@Suite("MonitoringConfiguration")
struct MonitoringConfigurationTests {
    static func yaml(_ monitoring: String) -> String {
        """
        source: {url: "sqlite:/tmp/none.db"}
        transports: {out: {type: file, path: "-"}}
        routes: [{events: "*", to: [out]}]
        \(monitoring)
        """
    }

    @Test func offUnlessConfigured() throws {
        #expect(try RelayConfiguration.parse(yaml: Self.yaml("")).monitoring == nil)
    }

    @Test func listenAndWedgedAfter() throws {
        let parsed = try RelayConfiguration.parse(
            yaml: Self.yaml(#"monitoring: {listen: "127.0.0.1:9464", wedged_after: 30s}"#)
        ).monitoring
        #expect(parsed?.listen == .ipv4("127.0.0.1", port: 9464))
        #expect(parsed?.wedgedAfter == .seconds(30))
        let ipv6 = try RelayConfiguration.parse(yaml: Self.yaml(#"monitoring: {listen: "[::1]:9464"}"#)).monitoring
        #expect(ipv6?.listen == .ipv6("::1", port: 9464))
        #expect(ipv6?.wedgedAfter == .seconds(120))
    }

    @Test(arguments: ["9464", "localhost:9464", "127.0.0.1", "127.0.0.1:99999", "[::1]9464", "1.2.3:80", "[]:80"])
    func aBadListenAddressNamesTheKey(_ listen: String) throws {
        let error = #expect(throws: ConfigError.self) {
            try RelayConfiguration.parse(yaml: Self.yaml("monitoring: {listen: \"\(listen)\"}"))
        }
        #expect(error?.keyPath == "monitoring.listen")
    }

    @Test func unknownKeysAreRejected() throws {
        let error = #expect(throws: ConfigError.self) {
            try RelayConfiguration.parse(yaml: Self.yaml(#"monitoring: {listen: "127.0.0.1:0", port: 1}"#))
        }
        #expect(error?.keyPath.hasPrefix("monitoring") == true)
    }
}

@Suite("RelayHealthReport")
struct RelayHealthReportTests {
    @Test func readyOnlyWhileRelayingWithoutSourceFailures() {
        #expect(RelayHealthReport.readiness(of: RelayHealth(phase: .relaying)).statusCode == 200)
        for phase in [RelayHealth.Phase.idle, .opening, .startingTransports, .stopped] {
            let report = RelayHealthReport.readiness(of: RelayHealth(phase: phase))
            #expect(report.statusCode == 503)
            #expect(!report.reasons.isEmpty)
        }
        let failing = RelayHealthReport.readiness(
            of: RelayHealth(phase: .relaying, consecutiveSourceFailures: 2, lastSourceError: "connection refused")
        )
        #expect(failing.statusCode == 503)
        #expect(
            String(decoding: failing.body, as: UTF8.self)
                == #"{"status":"unavailable","reasons":["source: 2 failed reads or completions in a row, "#
                + #"last: connection refused"]}"#
        )
    }

    @Test func notReadyWhileATransportIsDisabled() {
        var health = RelayHealth(phase: .relaying)
        health.disabledTransports = ["hook": "the endpoint https://example.com/h answered 410 Gone"]
        let report = RelayHealthReport.readiness(of: health)
        #expect(report.statusCode == 503)
        #expect(report.reasons == ["transport hook: disabled: the endpoint https://example.com/h answered 410 Gone"])
        // Liveness is not affected: the relay goes on (dead-lettering that destination's messages).
        #expect(RelayHealthReport.liveness(of: health, wedgedAfter: .seconds(60)).statusCode == 200)
    }

    @Test("a healthy standby is ready and says so, naming the active relay")
    func standbyIsReady() {
        let standby = RelayHealthReport.readiness(of: RelayHealth(phase: .standby, lockHolder: "relay pid 7"))
        #expect(standby.statusCode == 200)
        #expect(String(decoding: standby.body, as: UTF8.self) == #"{"status":"standby","active_relay":"relay pid 7"}"#)
        let unknownHolder = RelayHealthReport.readiness(of: RelayHealth(phase: .standby))
        #expect(String(decoding: unknownHolder.body, as: UTF8.self) == #"{"status":"standby","active_relay":null}"#)
        let quiet = RelayHealth(phase: .standby, lastProgress: Timestamp(microsecondsSinceEpoch: 0))
        #expect(RelayHealthReport.liveness(of: quiet, wedgedAfter: .seconds(60)).statusCode == 200)
    }

    @Test func liveUntilWedgedPastTheLimit() {
        let now = Timestamp.now()
        let recent = RelayHealth(phase: .relaying, lastProgress: now)
        #expect(RelayHealthReport.liveness(of: recent, wedgedAfter: .seconds(60), now: now).statusCode == 200)
        let wedged = RelayHealth(
            phase: .relaying,
            lastProgress: Timestamp(microsecondsSinceEpoch: now.microsecondsSinceEpoch - 61_000_000)
        )
        #expect(RelayHealthReport.liveness(of: wedged, wedgedAfter: .seconds(60), now: now).statusCode == 503)
        // Waiting for the lock as standby is not wedged.
        let standby = RelayHealth(phase: .opening, lastProgress: Timestamp(microsecondsSinceEpoch: 0))
        #expect(RelayHealthReport.liveness(of: standby, wedgedAfter: .seconds(60), now: now).statusCode == 200)
        #expect(
            RelayHealthReport.liveness(of: RelayHealth(phase: .stopped), wedgedAfter: .seconds(60)).statusCode == 503
        )
    }
}
