/// Decides which transports each message goes to, by event type.
///
/// Rules are tried in order; **every** rule whose pattern matches contributes its
/// destinations (so a catch-all `*` rule can mirror everything to an audit transport),
/// each destination once, in first-mention order. Set ``Rule/isFinal`` on a rule to stop
/// looking after it matches. A message that matches no rule follows ``unrouted``.
public struct RoutingTable: Sendable {
    /// One routing rule.
    public struct Rule: Sendable, Hashable {
        /// The event types this rule applies to.
        public var events: EventTypePattern
        /// The names of the transports the matching messages go to.
        public var destinations: [String]
        /// Stop evaluating later rules once this one matched. Default `false`.
        public var isFinal: Bool

        public init(events: EventTypePattern, to destinations: [String], isFinal: Bool = false) {
            self.events = events
            self.destinations = destinations
            self.isFinal = isFinal
        }
    }

    /// What happens to a message no rule matches.
    public enum UnroutedPolicy: String, Sendable, Hashable, CaseIterable {
        /// Count it, log it once per event type, and treat it as delivered.
        case skip
        /// Write it to the dead-letter table.
        case deadLetter = "dead-letter"
    }

    /// The rules, in evaluation order.
    public let rules: [Rule]
    /// The policy for messages no rule matches. Default ``UnroutedPolicy/skip``.
    public let unrouted: UnroutedPolicy

    /// Creates a routing table.
    /// - Throws: ``RoutingError`` when a rule has no destination or names a transport not
    ///   in `knownTransports` (when given).
    public init(
        rules: [Rule],
        unrouted: UnroutedPolicy = .skip,
        knownTransports: Set<String>? = nil
    ) throws(RoutingError) {
        for (index, rule) in rules.enumerated() {
            if rule.destinations.isEmpty {
                throw RoutingError(
                    code: .emptyDestinations,
                    detail: "routes[\(index)] (events: \(rule.events)) sends to no transport"
                )
            }
            if let knownTransports {
                for destination in rule.destinations where !knownTransports.contains(destination) {
                    let known = knownTransports.sorted().joined(separator: ", ")
                    throw RoutingError(
                        code: .unknownTransport,
                        detail:
                            "routes[\(index)].to names the transport \"\(destination)\", which is not configured "
                            + "(configured: \(known.isEmpty ? "none" : known))"
                    )
                }
            }
        }
        self.rules = rules
        self.unrouted = unrouted
    }

    /// Every transport name some rule sends to.
    public var destinations: Set<String> { Set(rules.flatMap(\.destinations)) }

    /// The transports `eventType` goes to; empty when no rule matches.
    public func destinations(for eventType: String) -> [String] {
        var result: [String] = []
        for rule in rules where rule.events.matches(eventType) {
            for destination in rule.destinations where !result.contains(destination) {
                result.append(destination)
            }
            if rule.isFinal { break }
        }
        return result
    }
}
