import OutboxRelay

/// What `/healthz` and `/readyz` answer for a ``RelayHealth`` snapshot.
///
/// - `/healthz` (liveness): 200 while the engine makes progress; 503 when it made none for
///   ``MonitoringConfiguration/wedgedAfter`` while relaying, or once it stopped.
/// - `/readyz` (readiness): 200 when the source is open (this relay is the active one) and
///   every transport started and none is disabled (``RelayHealth/disabledTransports``), and
///   the last read or completion succeeded, or when this relay is a healthy hot standby
///   (connected, another relay holds the table's lock); 503 otherwise.
///
/// Both answer a small JSON object: `{"status":"ok"}`,
/// `{"status":"standby","active_relay":"…"}` or `{"status":"unavailable","reasons":["…"]}`.
struct RelayHealthReport: Sendable, Hashable {
    /// The HTTP status to answer: 200 or 503.
    var statusCode: Int
    /// Why the check fails (empty when it passes).
    var reasons: [String]
    /// Set when this relay is ready as a standby: who holds the relay lock (`nil` when the
    /// source cannot tell).
    var standby: Standby?

    /// A healthy standby's answer.
    struct Standby: Sendable, Hashable {
        var activeRelay: String?
    }

    init(statusCode: Int, reasons: [String], standby: Standby? = nil) {
        self.statusCode = statusCode
        self.reasons = reasons
        self.standby = standby
    }

    static func liveness(of health: RelayHealth, wedgedAfter: Duration, now: Timestamp = .now()) -> Self {
        var reasons: [String] = []
        switch health.phase {
        case .stopped:
            reasons.append("the engine stopped")
        case .relaying:
            let quiet = now.duration(since: health.lastProgress)
            if quiet > wedgedAfter {
                reasons.append("the engine made no progress for \(quiet.seconds.rounded()) s (limit \(wedgedAfter))")
            }
        case .idle, .opening, .standby, .startingTransports:
            break
        }
        return Self(statusCode: reasons.isEmpty ? 200 : 503, reasons: reasons)
    }

    static func readiness(of health: RelayHealth) -> Self {
        var reasons: [String] = []
        switch health.phase {
        case .idle: reasons.append("source: not opened yet")
        case .opening: reasons.append("source: connecting")
        case .standby:
            return Self(statusCode: 200, reasons: [], standby: Standby(activeRelay: health.lockHolder))
        case .startingTransports: reasons.append("transports: starting")
        case .stopped: reasons.append("the engine stopped")
        case .relaying: break
        }
        if health.consecutiveSourceFailures > 0 {
            reasons.append(
                "source: \(health.consecutiveSourceFailures) failed reads or completions in a row, last: "
                    + (health.lastSourceError ?? "unknown")
            )
        }
        for (name, reason) in health.disabledTransports.sorted(by: { $0.key < $1.key }) {
            reasons.append("transport \(name): disabled: \(reason)")
        }
        return Self(statusCode: reasons.isEmpty ? 200 : 503, reasons: reasons)
    }

    /// The JSON body.
    var body: [UInt8] {
        var members: [(key: String, value: JSONValue)] = [
            ("status", .string(standby != nil ? "standby" : statusCode == 200 ? "ok" : "unavailable"))
        ]
        if let standby { members.append(("active_relay", standby.activeRelay.map(JSONValue.string) ?? .null)) }
        if !reasons.isEmpty { members.append(("reasons", .array(reasons.map { .string($0) }))) }
        return JSONWriter.encode(.object(JSONObject(members)), escaping: .minimal)
    }
}
