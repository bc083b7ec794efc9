import OutboxRelay

/// How `dlq list --parked` and `dlq show --parked` print parked deliveries: a table, details, or
/// JSON lines (the dead letters' layout, ``DeadLetterPrinter``).
enum ParkedDeliveryPrinter {
    /// A table with a header line, one line per entry; empty text for no entries.
    static func table(_ entries: [ParkedDelivery]) -> String {
        guard !entries.isEmpty else { return "" }
        let header = [
            "ID", "DESTINATION", "ROW", "EVENT ID", "AGGREGATE", "ATTEMPTS", "NEXT ATTEMPT (UTC)", "LAST ERROR",
        ]
        let rows = entries.map { entry -> [String] in
            var error = entry.lastError.replacing("\n", with: " ")
            if error.count > DeadLetterPrinter.errorWidth {
                error = String(error.prefix(DeadLetterPrinter.errorWidth - 1)) + "…"
            }
            return [
                entry.id.map(String.init) ?? "-", entry.destination, entry.rowID.description, entry.eventID,
                entry.orderingKey, String(entry.attempts), DeadLetterPrinter.seconds(entry.nextAttemptAt), error,
            ]
        }
        return DeadLetterPrinter.columns(header: header, rows: rows)
    }

    /// Every field on its own line, then the stored payload.
    static func details(_ entry: ParkedDelivery, sourceTable: String) -> String {
        [
            "id:              \(entry.id.map(String.init) ?? "-")",
            "source table:    \(sourceTable)",
            "destination:     \(entry.destination)",
            "row id:          \(entry.rowID)",
            "event id:        \(entry.eventID)",
            "event type:      \(entry.eventType)",
            "aggregate:       \(entry.orderingKey)",
            "attempts:        \(entry.attempts)",
            "first failed at: \(entry.firstFailedAt.rfc3339)",
            "next attempt at: \(entry.nextAttemptAt.rfc3339)",
            "last error:      \(entry.lastError)",
        ].joined(separator: "\n") + "\n" + DeadLetterPrinter.payloadLines(entry.payload)
    }

    /// One JSON object: `id`, `source_table`, `destination`, `row_id`, `event_id`, `event_type`,
    /// `aggregate` (the ordering key), `attempts`, `last_error`, `first_failed_at`,
    /// `next_attempt_at` (RFC 3339, UTC), and with `payload` the stored payload (`payload`, or
    /// `payload_hex` when not UTF-8).
    static func jsonLine(_ entry: ParkedDelivery, sourceTable: String, payload: Bool) -> String {
        var members: [(key: String, value: JSONValue)] = [
            ("id", entry.id.map { .number(String($0)) } ?? .null),
            ("source_table", .string(sourceTable)),
            ("destination", .string(entry.destination)),
            ("row_id", .string(entry.rowID.description)),
            ("event_id", .string(entry.eventID)),
            ("event_type", .string(entry.eventType)),
            ("aggregate", .string(entry.orderingKey)),
            ("attempts", .number(String(entry.attempts))),
            ("last_error", .string(entry.lastError)),
            ("first_failed_at", .string(entry.firstFailedAt.rfc3339)),
            ("next_attempt_at", .string(entry.nextAttemptAt.rfc3339)),
        ]
        if payload { members += DeadLetterPrinter.payloadMembers(entry.payload) }
        return String(decoding: JSONWriter.encode(.object(JSONObject(members)), escaping: .minimal), as: UTF8.self)
    }
}
