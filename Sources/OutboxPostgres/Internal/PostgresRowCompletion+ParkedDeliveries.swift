import OutboxRelay

extension PostgresRowCompletion {
    /// Inserts parked deliveries inside the caller's transaction: one statement for the whole
    /// list (arrays, `unnest … WITH ORDINALITY`), so ids follow the list's order. An entry whose
    /// payload is its row's stored payload is copied by the server from the outbox row, which the
    /// same transaction marks or deletes afterwards: the payload bytes do not cross the
    /// connection a second time (a missing row fails the insert: `payload` is `NOT NULL`).
    func insertParked(_ parked: [ParkedDelivery], on connection: PostgresConnection) throws(PostgresError) {
        try connection.prepare("outbox_relay_insert_parked", statements.insertParked)
        func array(_ values: (ParkedDelivery) -> String) -> String { parked.map(values).postgresTextArrayLiteral }
        try connection.executePrepared(
            "outbox_relay_insert_parked",
            [
                self.table, array(\.destination), array(\.rowID.description), array(\.eventID), array(\.eventType),
                array(\.orderingKey), parked.map { $0.payloadIsRowPayload ? [] : $0.payload }.postgresByteaArrayLiteral,
                array { String($0.attempts) }, array(\.lastError), array(\.firstFailedAt.rfc3339),
                array(\.nextAttemptAt.rfc3339), array { $0.payloadIsRowPayload ? "t" : "f" },
            ]
        )
    }
}

extension Array where Element == String {
    /// A PostgreSQL array literal in text format with every element quoted: `{"a","b\"c"}`.
    ///
    /// Built as UTF-8 bytes (a `"` or `\\` is ASCII and never part of a multi-byte sequence, so
    /// escaping byte by byte is exact): a completion's parked entries make arrays of hundreds of
    /// kilobytes, and appending to a `String` scalar by scalar cost more than the INSERT itself.
    var postgresTextArrayLiteral: String {
        var literal = PostgresArrayLiteral(capacity: reduce(2) { $0 + $1.utf8.count + 3 })
        for value in self { literal.appendQuoted(value.utf8) }
        return literal.finish()
    }
}

extension Array where Element == [UInt8] {
    /// A PostgreSQL `bytea[]` literal in text format: each element `"\\xHEX"` (the hex format's
    /// backslash escaped for the array syntax).
    var postgresByteaArrayLiteral: String {
        var literal = PostgresArrayLiteral(capacity: reduce(2) { $0 + $1.count * 2 + 6 })
        for value in self { literal.appendBytea(value) }
        return literal.finish()
    }
}

/// The bytes of a PostgreSQL array literal in text format, element by element.
struct PostgresArrayLiteral {
    private var bytes: [UInt8] = [UInt8(ascii: "{")]
    private var isEmpty = true

    init(capacity: Int) { bytes.reserveCapacity(capacity) }

    /// `"…"` with `"` and `\\` escaped.
    mutating func appendQuoted(_ value: some Collection<UInt8>) {
        startElement()
        for byte in value {
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { bytes.append(UInt8(ascii: "\\")) }
            bytes.append(byte)
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// `"\\x…"`: `value` in bytea's hex format.
    mutating func appendBytea(_ value: [UInt8]) {
        startElement()
        bytes.append(UInt8(ascii: "\\"))
        bytes.append(UInt8(ascii: "\\"))
        bytes.append(UInt8(ascii: "x"))
        for byte in value {
            bytes.append(Self.hexDigits[Int(byte >> 4)])
            bytes.append(Self.hexDigits[Int(byte & 0x0F)])
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Closes the literal and returns it.
    mutating func finish() -> String {
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }

    private mutating func startElement() {
        if !isEmpty { bytes.append(UInt8(ascii: ",")) }
        isEmpty = false
        bytes.append(UInt8(ascii: "\""))
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)
}
