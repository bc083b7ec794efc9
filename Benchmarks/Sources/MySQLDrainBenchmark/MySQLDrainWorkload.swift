import OutboxRelay

/// The SQL that builds and resets the benchmark's outbox tables in MariaDB/MySQL, generated
/// server-side.
///
/// Rows are generated once per run into a template table (`outbox_relay_bench_<flavour>`)
/// from a recursive row counter (MariaDB: `max_recursive_iterations`); every measurement then
/// starts from a fresh copy of it in PHP's table (`TRUNCATE` + `INSERT … SELECT` +
/// `ANALYZE TABLE`), so the C reference and the relay always drain the same fresh table.
///
/// The rows have the shape of the PostgreSQL benchmark's (`PostgresDrainBenchmark/DrainWorkload`)
/// and of the MariaDB fixtures (`shared/fixtures/eventsauce/*/mysql/rows.jsonl`): each flavour's
/// header order, custom `x-…` headers, ≈ 30,000 aggregates of four types with versions counting
/// up, twelve event types, PHP's escaping (`\/`, `\u00fc`), 1.2–1.9 KB payloads with a base64
/// document body; `outbox` ids 1…N, `dispatcher` uuid ids with one `time_of_recording` per
/// millisecond.
struct MySQLDrainWorkload: Sendable {
    /// The table flavour.
    var flavour: OutboxFlavour
    /// How many rows a fresh table holds.
    var rows: Int
    /// How many aggregate roots the rows belong to. Default 30,000.
    var aggregates: Int = 30_000

    /// The outbox table, with PHP's default name.
    var table: String { flavour.defaultTable }

    /// The template table the rows are copied from.
    var templateTable: String { "outbox_relay_bench_\(flavour.rawValue)" }

    /// Drops and re-creates the outbox table with PHP's DDL.
    var createTableSQL: String {
        "DROP TABLE IF EXISTS \(table);\n" + OutboxSchema.outboxTable(flavour: flavour, dialect: .mysql)
    }

    /// Builds the template table with `rows` generated messages.
    var generateTemplateSQL: String {
        let headers: String
        switch flavour {
        case .outbox:
            // EventSauce 3.x header order (see outbox/mysql/rows.jsonl).
            headers = """
                '{"__time_of_recording":"', recorded_text, \
                '","__time_of_recording_format":"Y-m-d H:i:s.uO","__aggregate_root_id":"', aggregate_id, \
                '","__aggregate_root_type":"', root_type, '","__aggregate_root_version":', version, \
                ',"__event_type":"', event_type, '","__event_id":"', event_id, \
                '","x-request-id":"', request_id, '","x-tenant":"', tenant, '","x-causation-id":"', causation_id, \
                '","x-actor":{"type":"api-client","id":', actor, '},"x-retry-count":', i % 3, \
                ',"__aggregate_root_id_type":"', root_id_type, '"}'
                """
        case .dispatcher:
            // EventSauce 0.8 header order (see original/mysql/rows.jsonl).
            headers = """
                '{"__event_type":"', event_type, '","__time_of_recording":"', recorded_text, \
                '","__aggregate_root_id":"', aggregate_id, '","__aggregate_root_version":', version, \
                ',"__event_id":"', event_id, '","x-request-id":"', request_id, '","x-tenant":"', tenant, \
                '","x-causation-id":"', causation_id, \
                '","x-actor":{"type":"api-client","id":', actor, '},"x-retry-count":', i % 3, \
                ',"__aggregate_root_id_type":"', root_id_type, '"}'
                """
        }
        func uuid(_ seed: String) -> String {
            "LOWER(CONCAT_WS('-', SUBSTR(MD5(\(seed)), 1, 8), SUBSTR(MD5(\(seed)), 9, 4), "
                + "SUBSTR(MD5(\(seed)), 13, 4), SUBSTR(MD5(\(seed)), 17, 4), SUBSTR(MD5(\(seed)), 21, 12)))"
        }
        let columns: String
        switch flavour {
        case .outbox: columns = "i AS id"
        case .dispatcher: columns = "event_id AS id, recorded_at"
        }
        return """
            DROP TABLE IF EXISTS \(templateTable);
            SET SESSION max_recursive_iterations = \(rows + 1);
            CREATE TABLE \(templateTable) ENGINE = InnoDB AS
            WITH RECURSIVE counter (i) AS (
                SELECT 1 UNION ALL SELECT i + 1 FROM counter WHERE i < \(rows)
            ), numbered AS (
                SELECT i, CRC32(CONCAT('aggregate-', i)) % \(aggregates) AS aggregate FROM counter
            ), versioned AS (
                SELECT i, aggregate, ROW_NUMBER() OVER (PARTITION BY aggregate ORDER BY i) AS version FROM numbered
            ), described AS (
                SELECT
                    i, version, aggregate % 4 AS kind,
                    \(uuid("CONCAT('aggregate-', aggregate)")) AS aggregate_id,
                    \(uuid("CONCAT('event-', i)")) AS event_id,
                    \(uuid("CONCAT('request-', i)")) AS request_id,
                    \(uuid("CONCAT('causation-', i)")) AS causation_id,
                    ELT(1 + i % 3, 'alpha-tenant', 'beta-tenant', 'gamma-tenant') AS tenant,
                    100000 + CRC32(CONCAT('actor-', i)) % 262144 AS actor,
                    -- one event per millisecond plus a few microseconds, increasing with i
                    TIMESTAMP '2024-03-14 05:04:50' + INTERVAL (i * 1000 + (i * 7919) % 1000) MICROSECOND
                        AS recorded_at,
                    420 + CRC32(CONCAT('pad-', i)) % 500 AS pad_length
                FROM versioned
            ), typed AS (
                SELECT d.*,
                    CONCAT(DATE_FORMAT(recorded_at, '%Y-%m-%d %H:%i:%s.%f'), '+0000') AS recorded_text,
                    ELT(1 + kind, 'acme.shop.orders.order', 'acme.shop.customers.customer',
                        'acme.shop.documents.document', 'acme.shop.inventory.warehouse') AS root_type,
                    ELT(1 + kind, 'acme.shop.orders.order_id', 'acme.shop.customers.customer_id',
                        'acme.shop.documents.document_id', 'acme.shop.inventory.warehouse_id') AS root_id_type,
                    CASE kind
                        WHEN 0 THEN ELT(1 + (CASE WHEN version = 1 THEN 1 ELSE version % 4 END),
                            'acme.shop.orders.order_line_added', 'acme.shop.orders.order_was_placed',
                            'acme.shop.orders.order_lines_were_imported', 'acme.shop.orders.order_was_shipped')
                        WHEN 1 THEN ELT(1 + (CASE WHEN version = 1 THEN 1 ELSE version % 3 END),
                            'acme.shop.customers.customer_note_added', 'acme.shop.customers.customer_registered',
                            'acme.shop.customers.customer_email_changed')
                        WHEN 2 THEN ELT(1 + (CASE WHEN version = 1 THEN 1 ELSE 0 END),
                            'acme.shop.documents.document_archived', 'acme.shop.documents.document_uploaded')
                        ELSE ELT(1 + version % 2,
                            'acme.shop.inventory.stock_adjusted', 'acme.shop.inventory.stock_count_recorded')
                    END AS event_type
                FROM described d
            )
            SELECT \(columns),
                CAST(CONCAT('{"headers":', CONCAT(\(headers)),
                    ',"payload":{"note":"Lieferung \\\\u00fcber Tor ', i % 17, ' \\\\/ Rampe ', i % 5,
                    '","amount_cents":', (CRC32(CONCAT('amount-', i)) % 65536) * 13,
                    ',"currency":"EUR","lines":[{"sku":"SKU-', LPAD(i % 9973, 5, '0'), '","quantity":', 1 + i % 7,
                    ',"unit_price":{"amount":"', i % 997, '.95","currency":"EUR"}},{"sku":"SKU-',
                    LPAD(i % 7919, 5, '0'),
                    '","quantity":1,"unit_price":{"amount":"4.50","currency":"EUR"}}],"content_base64":"',
                    REPLACE(REPLACE(SUBSTR(TO_BASE64(UNHEX(REPEAT(SHA2(CONCAT('body-', i), 512), 14))), 1, pad_length),
                        '\\n', ''), '/', '\\\\/'),
                    '"}}') AS CHAR CHARACTER SET utf8mb4) AS payload
            FROM typed;
            """
    }

    /// Empties the outbox table and refills it from the template.
    var resetSQL: String {
        let insert: String
        switch flavour {
        case .outbox:
            insert = """
                INSERT INTO \(table) (id, consumed, payload) SELECT id, 0, payload FROM \(templateTable) ORDER BY id;
                """
        case .dispatcher:
            insert = """
                INSERT INTO \(table) (id, payload, dispatched, time_of_recording, time_of_dispatching)
                    SELECT id, payload, 0, recorded_at, NULL FROM \(templateTable) ORDER BY recorded_at;
                """
        }
        return """
            TRUNCATE TABLE \(table);
            \(insert)
            ANALYZE TABLE \(table);
            """
    }

    /// Counts the rows that are still undelivered (not marked, not deleted).
    var undeliveredCountSQL: String {
        switch flavour {
        case .outbox: return "SELECT count(*) FROM \(table) WHERE consumed = 0"
        case .dispatcher: return "SELECT count(*) FROM \(table) WHERE dispatched = 0"
        }
    }

    /// Counts the rows still in the table, marked or not.
    var totalCountSQL: String { "SELECT count(*) FROM \(table)" }

    /// The average stored payload length in bytes.
    var averagePayloadSQL: String { "SELECT ROUND(AVG(LENGTH(payload))) FROM \(templateTable)" }

    /// The stored payload bytes of all template rows: what every drain must hand over.
    var totalPayloadBytesSQL: String { "SELECT SUM(LENGTH(payload)) FROM \(templateTable)" }

    /// The number of distinct aggregate roots in the template.
    var aggregateCountSQL: String {
        "SELECT COUNT(DISTINCT JSON_VALUE(payload, '$.headers.__aggregate_root_id')) FROM \(templateTable)"
    }

    /// A fingerprint of the generator SQL and row count (FNV-1a), stored as the template
    /// table's comment so an existing template is reused only when it is the same.
    var templateFingerprint: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in generateTemplateSQL.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        return "outbox-relay benchmark template " + String(hash, radix: 16)
    }

    /// Records ``templateFingerprint`` on the template table.
    var markTemplateSQL: String { "ALTER TABLE \(templateTable) COMMENT = '\(templateFingerprint)';" }

    /// Returns 1 when the template exists and was generated by this SQL, else 0.
    var templateIsCurrentSQL: String {
        "SELECT count(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
            + "AND TABLE_NAME = '\(templateTable)' AND TABLE_COMMENT = '\(templateFingerprint)'"
    }
}
