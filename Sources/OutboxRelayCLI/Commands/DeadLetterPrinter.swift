import OutboxRelay

/// How `dlq` commands print entries: a table, details, or JSON lines.
enum DeadLetterPrinter {
    /// Columns of ``table(_:)``; the error is cut to fit a terminal line.
    static let errorWidth = 60

    /// A table with a header line, one line per entry; empty text for no entries.
    static func table(_ entries: [DeadLetterEntry]) -> String {
        guard !entries.isEmpty else { return "" }
        let header = [
            "ID", "ROW", "EVENT TYPE", "DESTINATION", "REASON", "ATTEMPTS", "LAST FAILED (UTC)", "LAST ERROR",
        ]
        let rows = entries.map { entry -> [String] in
            let letter = entry.deadLetter
            var error = letter.lastError.replacing("\n", with: " ")
            if error.count > errorWidth { error = String(error.prefix(errorWidth - 1)) + "…" }
            return [
                String(entry.id), letter.rowID.description, letter.eventType ?? "-", letter.destination ?? "-",
                entry.reason.rawValue, String(letter.attempts), seconds(letter.lastFailedAt), error,
            ]
        }
        return columns(header: header, rows: rows)
    }

    /// `header` and `rows` in columns two spaces apart (the last one unpadded), one line each.
    static func columns(header: [String], rows: [[String]]) -> String {
        let widths = header.indices.map { column in
            ([header] + rows).map { $0[column].count }.max() ?? 0
        }
        return ([header] + rows).map { cells in
            cells.enumerated().map { column, cell in
                column == cells.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }

    /// Every field on its own line, then the stored payload.
    static func details(_ entry: DeadLetterEntry) -> String {
        let letter = entry.deadLetter
        let lines = [
            "id:              \(entry.id)",
            "source table:    \(entry.sourceTable)",
            "row id:          \(letter.rowID)",
            "event id:        \(letter.eventID ?? "-")",
            "event type:      \(letter.eventType ?? "-")",
            "destination:     \(letter.destination ?? "-")",
            "reason:          \(entry.reason.rawValue)",
            "attempts:        \(letter.attempts)",
            "first failed at: \(letter.firstFailedAt.rfc3339)",
            "last failed at:  \(letter.lastFailedAt.rfc3339)",
            "last error:      \(letter.lastError)",
        ]
        return lines.joined(separator: "\n") + "\n" + payloadLines(letter.payload)
    }

    /// `payload (N bytes):` and the stored payload, or its hex digits when it is not UTF-8.
    static func payloadLines(_ payload: [UInt8]) -> String {
        if let text = String(validating: payload, as: UTF8.self) {
            return "payload (\(payload.count) bytes):\n" + text
        }
        return "payload (\(payload.count) bytes, not UTF-8, as hex):\n" + hex(payload)
    }

    /// One JSON object: `id`, `source_table`, `row_id`, `event_id`, `event_type`, `destination`,
    /// `reason`, `attempts`, `last_error`, `first_failed_at`, `last_failed_at` (RFC 3339, UTC),
    /// and with `payload` the stored payload (`payload`, or `payload_hex` when not UTF-8).
    static func jsonLine(_ entry: DeadLetterEntry, payload: Bool) -> String {
        let letter = entry.deadLetter
        let text = { (value: String?) in value.map(JSONValue.string) ?? .null }
        var members: [(key: String, value: JSONValue)] = [
            ("id", .number(String(entry.id))),
            ("source_table", .string(entry.sourceTable)),
            ("row_id", .string(letter.rowID.description)),
            ("event_id", text(letter.eventID)),
            ("event_type", text(letter.eventType)),
            ("destination", text(letter.destination)),
            ("reason", .string(entry.reason.rawValue)),
            ("attempts", .number(String(letter.attempts))),
            ("last_error", .string(letter.lastError)),
            ("first_failed_at", .string(letter.firstFailedAt.rfc3339)),
            ("last_failed_at", .string(letter.lastFailedAt.rfc3339)),
        ]
        if payload { members += payloadMembers(letter.payload) }
        return String(decoding: JSONWriter.encode(.object(JSONObject(members)), escaping: .minimal), as: UTF8.self)
    }

    /// `payload` with the stored payload, or `payload_hex` when it is not UTF-8.
    static func payloadMembers(_ payload: [UInt8]) -> [(key: String, value: JSONValue)] {
        if let stored = String(validating: payload, as: UTF8.self) { return [("payload", .string(stored))] }
        return [("payload_hex", .string(hex(payload)))]
    }

    /// `2026-12-03 07:00:01`: the time to the second, for the table.
    static func seconds(_ time: Timestamp) -> String {
        String(time.sqlText.prefix(19))
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        var text = ""
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return text
    }
}
