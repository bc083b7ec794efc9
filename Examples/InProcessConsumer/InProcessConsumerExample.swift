// An application that embeds OutboxRelay: Swift code consuming the events a PHP
// EventSauce application writes, without touching the PHP side.
//
//   swift run InProcessConsumerExample [PATH-TO-SQLITE-OUTBOX]
//
// Without a path it creates a small outbox in a temporary file first.
import Foundation
import Logging
import OutboxRelay
import OutboxSQLite

/// The payload of `acme.shop.orders.order_was_placed`, as the PHP app serializes it.
struct OrderWasPlaced: Decodable, Sendable {
    let customerID: String
    let totalCents: Int

    enum CodingKeys: String, CodingKey {
        case customerID = "customer_id"
        case totalCents = "total_cents"
    }
}

/// A projection kept up to date from the outbox: revenue per customer.
actor RevenueProjection: MessageConsumer {
    private(set) var revenueByCustomer: [String: Int] = [:]

    nonisolated func handle(_ message: OutboxMessage) async throws {
        let event: OrderWasPlaced
        do {
            event = try JSONDecoder().decode(OrderWasPlaced.self, from: Data(message.payloadBytes))
        } catch {
            // A payload this consumer can never read: set it aside instead of retrying.
            throw PermanentDeliveryError("cannot decode \(message.eventType): \(error)")
        }
        await add(event)
    }

    private func add(_ event: OrderWasPlaced) {
        revenueByCustomer[event.customerID, default: 0] += event.totalCents
    }
}

@main
struct InProcessConsumerExample {
    static func main() async throws {
        let path: String
        if CommandLine.arguments.count > 1 {
            path = CommandLine.arguments[1]
        } else {
            path = NSTemporaryDirectory() + "/outbox-relay-example-\(getpid()).db"
            try await seed(path: path)
        }

        let projection = RevenueProjection()
        let dispatcher = SynchronousDispatcher(
            name: "projections",
            consumers: [
                .init(events: try EventTypePattern("acme.shop.orders.order_was_placed"), consumer: projection)
            ]
        )
        let engine = try RelayEngine(
            source: SQLiteSource(configuration: .init(path: path, flavour: .outbox)),
            transports: [dispatcher],
            routing: RoutingTable(rules: [
                .init(events: try EventTypePattern("acme.shop.orders.*"), to: ["projections"])
            ]),
            logger: Logger(label: "example")
        )
        let summary = try await engine.drain()
        print("relayed: \(summary)")
        for (customer, cents) in await projection.revenueByCustomer.sorted(by: { $0.key < $1.key }) {
            print("\(customer): \(cents / 100).\(String(format: "%02d", cents % 100))")
        }
    }

    /// Writes a few messages the way PHP's EventSauce outbox does.
    static func seed(path: String) async throws {
        let source = SQLiteSource(configuration: .init(path: path, flavour: .outbox))
        try await source.createTables()
        var payloads: [[UInt8]] = []
        for index in 1...20 {
            let headers: JSONObject = [
                "__event_type": .string("acme.shop.orders.order_was_placed"),
                "__aggregate_root_id": .string("order-\(index)"),
                "__aggregate_root_version": .number("1"),
                "__time_of_recording": .string("2024-03-14 05:04:50.163498+0000"),
            ]
            let payload: JSONObject = [
                "customer_id": .string("customer-\(index % 3)"),
                "total_cents": .number(String(1000 + index * 250)),
            ]
            let message = try OutboxMessage(
                rowID: .integer(0),
                headers: headers.adding("__event_id", .string(UUID().uuidString.lowercased())),
                payload: .object(payload)
            )
            payloads.append(message.envelope)
        }
        try await source.insert(payloads: payloads)
    }
}

extension JSONObject {
    func adding(_ key: String, _ value: JSONValue) -> JSONObject {
        var copy = self
        copy[key] = value
        return copy
    }
}
