import OutboxRelay

/// What `open()` learned about the outbox table from the catalog.
struct PostgresTableInfo: Sendable {
    /// `pg_class.oid` of the table: part of the advisory lock key.
    var oid: UInt32
    /// `format_type` of the id column (`bigint`, `uuid`, …), used to cast array parameters.
    var idType: String
    /// Whether times are `timestamp without time zone` (stored as UTC by PHP).
    var timesWithoutZone: Bool

    /// The advisory lock key: `0x4F524C59` ("ORLY") in the high 32 bits, the table's oid in
    /// the low 32 bits. `pg_locks` shows it as `classid = 1330793561, objid = oid, objsubid = 1`.
    var lockKey: Int64 { (Int64(Self.lockNamespace) << 32) | Int64(oid) }

    static let lockNamespace: UInt32 = 0x4F52_4C59
}

/// The SQL text of every statement the source runs, built once from validated, quoted names.
struct PostgresStatements: Sendable {
    let fetchFirst: String
    let fetchAfter: String
    /// `dispatcher` only: the rest of a `time_of_recording` tie group (`$1` time, `$2` id, `$3` limit).
    let fetchTieGroup: String?
    let complete: String
    let insertDeadLetter: String
    /// One dead letter whose payload the server copies from the outbox row: parameters as in
    /// ``insertDeadLetter`` without the payload (`$1`…`$9`), `$10` the row id.
    let insertDeadLetterFromOutbox: String
    /// A completion's parked deliveries in one statement, in the arrays' order (so ids follow
    /// it): `$1` the source table, `$2`…`$11` arrays of the other columns, `$12` per entry
    /// whether the server copies its payload from the outbox row (``ParkedDelivery/payloadIsRowPayload``;
    /// its `$7` element is then empty).
    let insertParked: String
    let retention: String?
    let countBacklog: String
    let oldestUndelivered: String
    let countDeadLetters: String
    let lockHolder: String

    init(configuration: PostgresSource.Configuration, table info: PostgresTableInfo) {
        let table = configuration.table.quoted(for: .postgres)
        let columns = configuration.columns
        func q(_ name: String) -> String { "\"" + name + "\"" }
        let id = q(columns.id)
        let payload = q(columns.payload)
        let now = info.timesWithoutZone ? "(now() AT TIME ZONE 'UTC')" : "now()"
        let idArray = "$1::\(info.idType)[]"
        let size = "octet_length(\(payload)::text)"
        /// A bounded read: the rows of `condition` in `order`, `LIMIT $<limit>`; the payload is
        /// NULL above `$<limit+1>` (the maximum payload size, so it never leaves the server),
        /// its size follows the other columns; and rows stop once the payloads before a row reach
        /// `$<limit+2>` (the byte budget; the first row always comes).
        func boundedRead(_ time: String?, where condition: String, order: [String], limit: Int) -> String {
            let maximum = "$\(limit + 1)::bigint"
            let budget = "$\(limit + 2)::bigint"
            let timeColumn = time.map { ", \($0) AS t, to_char(\($0), 'YYYY-MM-DD HH24:MI:SS.US') AS t_text" } ?? ""
            let ordered = order.joined(separator: ", ")
            let inner = """
                SELECT \(id) AS k\(timeColumn), \(payload)::text AS p, \(size) AS n, \
                sum(CASE WHEN \(size) <= \(maximum) THEN \(size) ELSE 0 END) OVER \
                (ORDER BY \(ordered) ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) \
                AS before_bytes FROM \(table) WHERE \(condition) ORDER BY \(ordered) LIMIT $\(limit)
                """
            return """
                SELECT k, CASE WHEN n <= \(maximum) THEN p END\(time == nil ? "" : ", t_text"), n FROM (\(inner)) r \
                WHERE coalesce(before_bytes, 0) < greatest(\(budget), 1) ORDER BY \(time == nil ? "k" : "t, k")
                """
        }

        switch configuration.flavour {
        case .outbox:
            let consumed = q(columns.consumed)
            let undelivered = "\(consumed) = false"
            fetchFirst = boundedRead(nil, where: undelivered, order: [id], limit: 1)
            fetchAfter = boundedRead(nil, where: "\(undelivered) AND \(id) > $1::\(info.idType)", order: [id], limit: 2)
            fetchTieGroup = nil
            switch configuration.afterDelivery {
            case .mark:
                complete =
                    "UPDATE \(table) SET \(consumed) = true WHERE \(id) = ANY(\(idArray)) AND \(consumed) = false"
            case .delete: complete = "DELETE FROM \(table) WHERE \(id) = ANY(\(idArray))"
            }
            if configuration.retention != nil {
                retention = """
                    DELETE FROM \(table) WHERE \(id) IN \
                    (SELECT \(id) FROM \(table) WHERE \(consumed) = true AND \(id) <= \
                    (SELECT \(id) FROM \(table) WHERE \(consumed) = true ORDER BY \(id) DESC OFFSET $1 LIMIT 1) \
                    ORDER BY \(id) LIMIT $2)
                    """
            } else {
                retention = nil
            }
            countBacklog = "SELECT count(*) FROM \(table) WHERE \(consumed) = false"
            oldestUndelivered = "SELECT \(payload)::text FROM \(table) WHERE \(consumed) = false ORDER BY \(id) LIMIT 1"
        case .dispatcher:
            let dispatched = q(columns.dispatched)
            let time = q(columns.timeOfRecording)
            let timeOfDispatching = q(columns.timeOfDispatching)
            let undelivered = "\(dispatched) = false"
            fetchFirst = boundedRead(time, where: undelivered, order: [time, id], limit: 1)
            fetchAfter = boundedRead(
                time,
                where: "\(undelivered) AND \(time) >= $1 AND (\(time), \(id)) > ($1, $2::\(info.idType))",
                order: [time, id],
                limit: 3
            )
            fetchTieGroup = boundedRead(
                time,
                where: "\(undelivered) AND \(time) = $1 AND \(id) > $2::\(info.idType)",
                order: [time, id],
                limit: 3
            )
            switch configuration.afterDelivery {
            case .mark:
                complete =
                    "UPDATE \(table) SET \(dispatched) = true, \(timeOfDispatching) = \(now) "
                    + "WHERE \(id) = ANY(\(idArray)) AND \(dispatched) = false"
            case .delete:
                complete = "DELETE FROM \(table) WHERE \(id) = ANY(\(idArray))"
            }
            if configuration.retention != nil {
                retention = """
                    DELETE FROM \(table) WHERE \(id) IN (SELECT \(id) FROM \(table) WHERE \(dispatched) = true \
                    AND \(timeOfDispatching) < \(now) - $1::interval LIMIT $2)
                    """
            } else {
                retention = nil
            }
            countBacklog = "SELECT count(*) FROM \(table) WHERE \(dispatched) = false"
            oldestUndelivered =
                "SELECT extract(epoch FROM \(now) - min(\(time)))::float8::text FROM \(table) "
                + "WHERE \(dispatched) = false"
        }

        let deadLetters = configuration.effectiveDeadLetterTable.quoted(for: .postgres)
        let deadLetterColumns = OutboxSchema.deadLetterColumns.map(q).joined(separator: ", ")
        insertDeadLetter = """
            INSERT INTO \(deadLetters) (\(deadLetterColumns)) VALUES \
            ($1, $2, $3, $4, $5, $6::bytea, $7::integer, $8, $9::timestamptz, $10::timestamptz)
            """
        insertDeadLetterFromOutbox = """
            INSERT INTO \(deadLetters) (\(deadLetterColumns)) SELECT \
            $1, $2, $3, $4, $5, convert_to(\(payload)::text, 'UTF8'), $6::integer, $7, $8::timestamptz, \
            $9::timestamptz FROM \(table) WHERE \(id) = $10::\(info.idType)
            """
        let parkedColumns = OutboxSchema.parkedDeliveryColumns.map(q).joined(separator: ", ")
        let copiedPayload = "convert_to(src.\(payload)::text, 'UTF8')"
        insertParked = """
            INSERT INTO \(configuration.effectiveParkedDeliveriesTable.quoted(for: .postgres)) (\(parkedColumns)) \
            SELECT $1, v.d, v.r, v.e, v.t, v.k, CASE WHEN v.s THEN \(copiedPayload) ELSE v.p END, \
            v.a, v.l, v.f, v.n FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bytea[], \
            $8::integer[], $9::text[], $10::timestamptz[], $11::timestamptz[], $12::boolean[]) WITH ORDINALITY \
            AS v(d, r, e, t, k, p, a, l, f, n, s, o) \
            LEFT JOIN \(table) AS src ON v.s AND src.\(id) = v.r::\(info.idType) ORDER BY v.o
            """
        countDeadLetters = "SELECT count(*) FROM \(deadLetters) WHERE \"source_table\" = $1"
        lockHolder = """
            SELECT l.pid::text, coalesce(a.application_name, ''), coalesce(host(a.client_addr), 'local socket'), \
            coalesce(to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC', '?') \
            FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid \
            WHERE l.locktype = 'advisory' AND l.granted \
            AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
            AND l.classid = $1::oid AND l.objid = $2::oid AND l.objsubid = 1
            """
    }
}

extension Array where Element == OutboxRowID {
    /// A PostgreSQL array literal in text format: `{1,2,3}` or `{"a","b"}`.
    var postgresArrayLiteral: String {
        var text = "{"
        text.reserveCapacity(count * 12 + 2)
        for (index, id) in enumerated() {
            if index > 0 { text += "," }
            switch id {
            case .integer(let value):
                text += String(value)
            case .text(let value):
                text += "\""
                if value.utf8.contains(where: { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
                    for character in value.unicodeScalars {
                        if character == "\"" || character == "\\" { text += "\\" }
                        text.unicodeScalars.append(character)
                    }
                } else {
                    text += value  // uuids and most keys: nothing to escape
                }
                text += "\""
            }
        }
        return text + "}"
    }
}

extension Array where Element == UInt8 {
    /// `bytea` hex input format: `\x0a1b…`.
    var postgresByteaHex: String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var bytes: [UInt8] = [UInt8(ascii: "\\"), UInt8(ascii: "x")]
        bytes.reserveCapacity(count * 2 + 2)
        for byte in self {
            bytes.append(digits[Int(byte >> 4)])
            bytes.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
