import ArgumentParser
import OutboxRelay

/// The filters `dlq list`, `dlq replay` and `dlq purge` share.
struct DeadLetterFilterOptions: ParsableArguments {
    @Option(name: .long, help: "Only entries of this destination (transport name).")
    var destination: String?

    @Option(name: .long, help: "Only entries whose event type matches this glob, with the routes' syntax.")
    var eventType: String?

    @Option(name: .long, help: "Only entries set aside for this reason: undecodable, unrouted or failed.")
    var reason: DeadLetterReason?

    @Option(
        name: .long,
        help: "Only entries that last failed at or after TIME (2026-12-03T07:00:00Z, 2026-12-03) or DURATION ago (2h)."
    )
    var since: String?

    @Option(name: .long, help: "Only entries that last failed before TIME or DURATION ago.")
    var until: String?

    @Option(name: .long, help: "At most N entries, oldest first.")
    var limit: Int?

    /// The filter, or a `ValidationError` naming the option that is wrong.
    func filter(now: Timestamp = .now()) throws -> DeadLetterFilter {
        var filter = DeadLetterFilter(destination: destination, reason: reason, limit: limit)
        if let eventType {
            do {
                filter.eventType = try EventTypePattern(eventType)
            } catch {
                throw ValidationError("--event-type \(eventType): \(error)")
            }
        }
        if let since { filter.since = try Self.time(since, option: "--since", now: now) }
        if let until { filter.until = try Self.time(until, option: "--until", now: now) }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1, found \(limit)") }
        return filter
    }

    /// The filter of `dlq list --parked`, or a `ValidationError` naming an option that selects
    /// only dead letters.
    func parkedFilter() throws -> ParkedDeliveryFilter {
        for (option, given) in [("--reason", reason != nil), ("--since", since != nil), ("--until", until != nil)]
        where given {
            throw ValidationError(
                "\(option) selects dead letters; with --parked use --destination, --event-type, --limit"
            )
        }
        var filter = ParkedDeliveryFilter(destination: destination, limit: limit)
        if let eventType {
            do {
                filter.eventType = try EventTypePattern(eventType)
            } catch {
                throw ValidationError("--event-type \(eventType): \(error)")
            }
        }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1, found \(limit)") }
        return filter
    }

    /// `2026-12-03T07:00:00Z`, `2026-12-03T07:00:00.5+02:00`, `2026-12-03 07:00:00`, `2026-12-03`
    /// (UTC unless an offset is given), or a duration before `now` (`90s`, `15m`, `2h`, `7d`).
    static func time(_ text: String, option: String, now: Timestamp) throws -> Timestamp {
        if let ago = ConfigNode.parseDuration(text), text.last.map({ !$0.isNumber }) ?? false {
            return now.adding(.zero - ago)
        }
        let normalized = text.replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: "+00:00")
        for format in ["Y-m-d H:i:s.uP", "Y-m-d H:i:sP", "Y-m-d H:i:s.u", "Y-m-d H:i:s", "Y-m-d H:iP", "Y-m-d H:i"] {
            if let time = PHPDateFormat(format).parse(normalized) { return time }
        }
        if let midnight = PHPDateFormat("Y-m-d H:i:s").parse(normalized + " 00:00:00") { return midnight }
        throw ValidationError(
            "\(option) \(text): expected a time (2026-12-03T07:00:00Z, 2026-12-03 07:00, 2026-12-03) "
                + "or a duration ago (15m, 2h, 7d)"
        )
    }
}

extension DeadLetterReason: ExpressibleByArgument {}
