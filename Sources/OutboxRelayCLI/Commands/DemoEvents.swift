import OutboxRelay

/// Realistic EventSauce messages for the demo: orders, customers and inventory, with the
/// headers EventSauce 3 writes (no `__event_id` on some, as in real tables), encoded the
/// way PHP's `json_encode` does by default.
enum DemoEvents {
    static func generate(count: Int) -> [[UInt8]] {
        var generator = SplitMix64(seed: 1001)
        var versions: [String: Int64] = [:]
        let orders = (0..<24).map { uuid(&generator, salt: $0) }
        let customers = (0..<10).map { uuid(&generator, salt: 100 + $0) }
        let skus = ["SKU-CAFE-001", "SKU-TEA-88", "SKU-PLANT-9", "SKU-MUG-12"]
        let names = ["Café ☕ beans 1kg", "緑茶 green tea", "Monstera 🌿 (large)", "Mug / 350 ml"]
        var base: Int64 = 1_710_392_690_000_000
        var result: [[UInt8]] = []
        result.reserveCapacity(count)

        for index in 0..<count {
            base += Int64(generator.next() % 900_000)
            let pick = generator.next() % 10
            let aggregateType: String
            let aggregateID: String
            let eventType: String
            var payload = JSONObject()
            switch pick {
            case 0...5:
                aggregateType = "acme.shop.orders.order"
                aggregateID = orders[Int(generator.next() % UInt64(orders.count))]
                let version = (versions[aggregateID] ?? 0) + 1
                let kind = version == 1 ? 0 : Int(generator.next() % 3) + 1
                eventType =
                    [
                        "acme.shop.orders.order_was_placed", "acme.shop.orders.order_line_added",
                        "acme.shop.orders.order_was_shipped", "acme.shop.orders.order_was_cancelled",
                    ][kind]
                let item = Int(generator.next() % UInt64(skus.count))
                payload["customer_id"] = .string(customers[Int(generator.next() % UInt64(customers.count))])
                payload["sku"] = .string(skus[item])
                payload["name"] = .string(names[item])
                payload["quantity"] = .number(String(generator.next() % 9 + 1))
                payload["unit_price_cents"] = .number(String(500 + generator.next() % 5000))
                payload["attributes"] = .array([])
            case 6...8:
                aggregateType = "acme.shop.customers.customer"
                aggregateID = customers[Int(generator.next() % UInt64(customers.count))]
                eventType =
                    (versions[aggregateID] ?? 0) == 0
                    ? "acme.shop.customers.customer_registered" : "acme.shop.customers.customer_email_changed"
                payload["email"] = .string("customer\(generator.next() % 1000)@example.com")
                payload["marketing_opt_in"] = .bool(generator.next() % 2 == 0)
            default:
                aggregateType = "acme.shop.inventory.warehouse"
                aggregateID = "warehouse-\(generator.next() % 3 + 1)"
                eventType = "acme.shop.inventory.stock_adjusted"
                payload["sku"] = .string(skus[Int(generator.next() % UInt64(skus.count))])
                payload["delta"] = .number(String(Int64(generator.next() % 40) - 20))
            }
            let version = (versions[aggregateID] ?? 0) + 1
            versions[aggregateID] = version
            var headers = JSONObject()
            headers["__time_of_recording"] = .string(phpTime(base))
            headers["__time_of_recording_format"] = .string(PHPDateFormat.eventSauceDefault)
            headers["__aggregate_root_id"] = .string(aggregateID)
            headers["__aggregate_root_type"] = .string(aggregateType)
            headers["__aggregate_root_version"] = .number(String(version))
            headers["__event_type"] = .string(eventType)
            if index % 7 != 3 { headers["__event_id"] = .string(uuid(&generator, salt: 1000 + index)) }
            headers["x-request-id"] = .string(uuid(&generator, salt: 5000 + index))
            headers["x-tenant"] = .string(index % 2 == 0 ? "acme-eu" : "beta-tenant")
            var envelope: [UInt8] = []
            envelope.append(contentsOf: #"{"headers":"#.utf8)
            JSONWriter.write(.object(headers), to: &envelope)
            envelope.append(contentsOf: #","payload":"#.utf8)
            JSONWriter.write(.object(payload), to: &envelope)
            envelope.append(UInt8(ascii: "}"))
            result.append(envelope)
        }
        return result
    }

    /// PHP's `Y-m-d H:i:s.uO` in UTC.
    static func phpTime(_ micros: Int64) -> String {
        let text = Timestamp(microsecondsSinceEpoch: micros).sqlText
        return text + "+0000"
    }

    static func uuid(_ generator: inout SplitMix64, salt: Int) -> String {
        let hex = Array("0123456789abcdef")
        var characters: [Character] = []
        let a = generator.next() ^ UInt64(salt)
        let b = generator.next()
        for index in 0..<32 {
            let word = index < 16 ? a : b
            var nibble = Int((word >> UInt64((index % 16) * 4)) & 0xF)
            if index == 12 { nibble = 4 }
            if index == 16 { nibble = 8 | (nibble & 3) }
            characters.append(hex[nibble])
            if [7, 11, 15, 19].contains(index) { characters.append("-") }
        }
        return String(characters)
    }
}

/// A small deterministic random number generator, so the demo data is the same every run.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
