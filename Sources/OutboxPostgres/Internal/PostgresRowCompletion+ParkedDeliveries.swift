import OutboxRelay

extension PostgresRowCompletion {
    /// Inserts parked deliveries inside the caller's transaction: one statement for the whole
    /// list (arrays, `unnest … WITH ORDINALITY`), so ids follow the list's order.
    func insertParked(_ parked: [ParkedDelivery], on connection: PostgresConnection) throws(PostgresError) {
        let table = configuration.effectiveParkedDeliveriesTable.quoted(for: .postgres)
        let columns = OutboxSchema.parkedDeliveryColumns.map { "\"\($0)\"" }.joined(separator: ", ")
        try connection.prepare(
            "outbox_relay_insert_parked",
            """
            INSERT INTO \(table) (\(columns)) \
            SELECT $1, v.d, v.r, v.e, v.t, v.k, v.p, v.a, v.l, v.f, v.n FROM unnest($2::text[], $3::text[], \
            $4::text[], $5::text[], $6::text[], $7::bytea[], $8::integer[], $9::text[], $10::timestamptz[], \
            $11::timestamptz[]) WITH ORDINALITY AS v(d, r, e, t, k, p, a, l, f, n, o) ORDER BY v.o
            """
        )
        func array(_ values: (ParkedDelivery) -> String) -> String { parked.map(values).postgresTextArrayLiteral }
        try connection.executePrepared(
            "outbox_relay_insert_parked",
            [
                self.table, array(\.destination), array(\.rowID.description), array(\.eventID), array(\.eventType),
                array(\.orderingKey), array(\.payload.postgresByteaHex), array { String($0.attempts) },
                array(\.lastError), array(\.firstFailedAt.rfc3339), array(\.nextAttemptAt.rfc3339),
            ]
        )
    }
}

extension Array where Element == String {
    /// A PostgreSQL array literal in text format with every element quoted: `{"a","b\"c"}`.
    var postgresTextArrayLiteral: String {
        var text = "{"
        text.reserveCapacity(reduce(2) { $0 + $1.utf8.count + 3 })
        for (index, value) in enumerated() {
            if index > 0 { text += "," }
            text += "\""
            if value.utf8.contains(where: { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
                for character in value.unicodeScalars {
                    if character == "\"" || character == "\\" { text += "\\" }
                    text.unicodeScalars.append(character)
                }
            } else {
                text += value
            }
            text += "\""
        }
        return text + "}"
    }
}
