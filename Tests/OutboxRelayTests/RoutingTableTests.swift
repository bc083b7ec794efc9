import OutboxRelay
import Testing

@Suite("RoutingTable")
struct RoutingTableTests {
    static func rule(_ pattern: String, _ destinations: [String], isFinal: Bool = false) throws -> RoutingTable.Rule {
        RoutingTable.Rule(events: try EventTypePattern(pattern), to: destinations, isFinal: isFinal)
    }

    static func tableError(_ rules: [RoutingTable.Rule], known: Set<String>?) -> RoutingError? {
        do {
            _ = try RoutingTable(rules: rules, knownTransports: known)
            Issue.record("expected the routing table to be rejected")
            return nil
        } catch {
            return error
        }
    }

    @Test("every matching rule contributes, each destination once, in first-mention order")
    func fanOut() throws {
        let table = try RoutingTable(rules: [
            Self.rule("acme.shop.orders.*", ["kafka", "webhook"]),
            Self.rule("acme.shop.orders.order_was_placed", ["billing", "kafka"]),
            Self.rule("*", ["audit"]),
        ])
        #expect(
            table.destinations(for: "acme.shop.orders.order_was_placed") == ["kafka", "webhook", "billing", "audit"]
        )
        #expect(table.destinations(for: "acme.shop.orders.order_was_shipped") == ["kafka", "webhook", "audit"])
        #expect(table.destinations(for: "acme.shop.customers.customer_registered") == ["audit"])
        #expect(table.destinations == ["kafka", "webhook", "billing", "audit"])
        #expect(table.unrouted == .skip)
        #expect(table.rules.count == 3)
    }

    @Test("isFinal stops after the rule that matched, not before")
    func finalRules() throws {
        let table = try RoutingTable(rules: [
            Self.rule("acme.shop.documents.*", ["files"], isFinal: true),
            Self.rule("acme.shop.*", ["kafka"]),
            Self.rule("acme.shop.orders.*", ["orders"], isFinal: true),
            Self.rule("*", ["audit"]),
        ])
        #expect(table.destinations(for: "acme.shop.documents.document_uploaded") == ["files"])
        #expect(table.destinations(for: "acme.shop.orders.order_was_placed") == ["kafka", "orders"])
        #expect(table.destinations(for: "acme.shop.customers.customer_registered") == ["kafka", "audit"])
        #expect(table.destinations(for: "other") == ["audit"])
    }

    @Test("a message no rule matches gets no destination")
    func unmatched() throws {
        let table = try RoutingTable(rules: [Self.rule("acme.shop.orders.*", ["kafka"])], unrouted: .deadLetter)
        #expect(table.destinations(for: "acme.shop.customers.customer_registered").isEmpty)
        #expect(table.unrouted == .deadLetter)
        #expect(try RoutingTable(rules: []).destinations(for: "x").isEmpty)
    }

    @Test("the unrouted policy's config spellings")
    func unroutedSpellings() {
        #expect(RoutingTable.UnroutedPolicy(rawValue: "skip") == .skip)
        #expect(RoutingTable.UnroutedPolicy(rawValue: "dead-letter") == .deadLetter)
        #expect(RoutingTable.UnroutedPolicy(rawValue: "deadLetter") == nil)
    }

    @Test("an unknown transport is rejected; the message names the route index and the transport")
    func unknownTransport() throws {
        let error = Self.tableError(
            [
                try Self.rule("*", ["audit"]),
                try Self.rule("acme.shop.orders.*", ["kafka", "webhok"]),
            ],
            known: ["audit", "kafka", "webhook"]
        )
        #expect(error?.code == .unknownTransport)
        let detail = error?.detail ?? ""
        #expect(detail.contains("routes[1]"), "\(detail)")
        #expect(detail.contains("\"webhok\""), "\(detail)")
        #expect(detail.contains("audit, kafka, webhook"), "lists what is configured: \(detail)")
        #expect(error?.description == detail)
    }

    @Test("with no transports configured, the message says so")
    func noTransports() throws {
        let error = Self.tableError([try Self.rule("*", ["kafka"])], known: [])
        #expect(error?.code == .unknownTransport)
        #expect(error?.detail.contains("routes[0]") == true)
        #expect(error?.detail.contains("configured: none") == true)
    }

    @Test("without knownTransports any name is accepted")
    func unchecked() throws {
        let table = try RoutingTable(rules: [Self.rule("*", ["anything"])])
        #expect(table.destinations(for: "x") == ["anything"])
    }

    @Test("a rule with no destination is rejected and named")
    func emptyDestinations() throws {
        let error = Self.tableError([try Self.rule("a", ["x"]), try Self.rule("acme.*", [])], known: nil)
        #expect(error?.code == .emptyDestinations)
        #expect(error?.detail.contains("routes[1]") == true)
        #expect(error?.detail.contains("acme.*") == true)
    }

    @Test("error codes are distinct and print their names")
    func codes() {
        #expect(RoutingError.Code.invalidPattern != .unknownTransport)
        #expect(RoutingError.Code.unknownTransport.description == "unknownTransport")
        #expect(RoutingError.Code.emptyDestinations.description == "emptyDestinations")
    }
}
