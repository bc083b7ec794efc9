import OutboxRelay

/// The SQL that builds and resets the benchmark's outbox tables, generated server-side.
///
/// Rows are generated once per run into a template table (`outbox_relay_bench_<flavour>`) with
/// `generate_series`; every measurement then starts from a fresh copy of it in the real outbox
/// table (`TRUNCATE` + `INSERT … SELECT`, `VACUUM ANALYZE`, `CHECKPOINT`), so the C reference
/// and the relay always drain the same, freshly written, unbloated table.
///
/// The rows look like what EventSauce writes (compare
/// `shared/fixtures/eventsauce/outbox/pgsql/rows.jsonl`): the same headers in the same order
/// per flavour, including custom `x-…` headers and `__aggregate_root_id_type`; about 30,000
/// aggregate roots of four types with versions increasing by one per event; twelve event
/// types; PHP's `json_encode` escaping (`\/`, `\u00fc`); payloads of 1.2–1.9 KB (1.5 KB on
/// average) with a base64 document body, like the fixtures' document events.
struct DrainWorkload: Sendable {
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
        "DROP TABLE IF EXISTS \(table);\n" + OutboxSchema.outboxTable(flavour: flavour, dialect: .postgres)
    }

    /// Builds the template table with `rows` generated messages (seconds for 100,000 rows).
    var generateTemplateSQL: String {
        let headers: String
        switch flavour {
        case .outbox:
            // EventSauce 3.x header order (see outbox/pgsql/rows.jsonl).
            headers = """
                '{"__time_of_recording":"' || recorded_text \
                || '","__time_of_recording_format":"Y-m-d H:i:s.uO","__aggregate_root_id":"' || aggregate_id
                || '","__aggregate_root_type":"' || root_type || '","__aggregate_root_version":' || version
                || ',"__event_type":"' || event_type || '","__event_id":"' || event_id
                || '","x-request-id":"' || request_id || '","x-tenant":"' || tenant \
                || '","x-causation-id":"' || causation_id
                || '","x-actor":{"type":"api-client","id":' || actor || '},"x-retry-count":' || (i % 3)
                || ',"__aggregate_root_id_type":"' || root_id_type || '"}'
                """
        case .dispatcher:
            // EventSauce 0.8 header order (see original/pgsql/rows.jsonl).
            headers = """
                '{"__event_type":"' || event_type || '","__time_of_recording":"' || recorded_text \
                || '","__aggregate_root_id":"' || aggregate_id
                || '","__aggregate_root_version":' || version || ',"__event_id":"' || event_id
                || '","x-request-id":"' || request_id || '","x-tenant":"' || tenant \
                || '","x-causation-id":"' || causation_id
                || '","x-actor":{"type":"api-client","id":' || actor || '},"x-retry-count":' || (i % 3)
                || ',"__aggregate_root_id_type":"' || root_id_type || '"}'
                """
        }
        let columns: String
        switch flavour {
        case .outbox: columns = "i AS id"
        case .dispatcher: columns = "event_id::uuid AS id, recorded_at"
        }
        return """
            DROP TABLE IF EXISTS \(templateTable);
            CREATE UNLOGGED TABLE \(templateTable) AS
            WITH numbered AS (
                SELECT i, (hashint4(i::int) & 2147483647) % \(aggregates) AS aggregate
                FROM generate_series(1::bigint, \(rows)::bigint) AS i
            ), versioned AS (
                SELECT i, aggregate, row_number() OVER (PARTITION BY aggregate ORDER BY i) AS version
                FROM numbered
            ), described AS (
                SELECT
                    i, version, aggregate % 4 AS kind,
                    md5('aggregate-' || aggregate)::uuid::text AS aggregate_id,
                    md5('event-' || i)::uuid::text AS event_id,
                    md5('request-' || i)::uuid::text AS request_id,
                    md5('causation-' || i)::uuid::text AS causation_id,
                    (ARRAY['alpha-tenant','beta-tenant','gamma-tenant'])[1 + i % 3] AS tenant,
                    100000 + (hashint4((i + 3)::int) & 262143) AS actor,
                    -- one event per millisecond plus a few microseconds, increasing with i
                    timestamp '2024-03-14 05:04:50' + \
            make_interval(secs => (i * 1000 + (i * 7919) % 1000) / 1000000.0) AS recorded_at,
                    420 + (hashint4((i + 7)::int) & 2147483647) % 500 AS pad_length
                FROM versioned
            ), typed AS (
                SELECT d.*,
                    to_char(recorded_at, 'YYYY-MM-DD HH24:MI:SS.US') || '+0000' AS recorded_text,
                    (ARRAY['acme.shop.orders.order','acme.shop.customers.customer',\
            'acme.shop.documents.document','acme.shop.inventory.warehouse'])[1 + kind] AS root_type,
                    (ARRAY['acme.shop.orders.order_id','acme.shop.customers.customer_id',\
            'acme.shop.documents.document_id','acme.shop.inventory.warehouse_id'])[1 + kind] AS root_id_type,
                    CASE kind
                        WHEN 0 THEN (ARRAY['acme.shop.orders.order_line_added','acme.shop.orders.order_was_placed',\
            'acme.shop.orders.order_lines_were_imported','acme.shop.orders.order_was_shipped'])\
            [1 + (CASE WHEN version = 1 THEN 1 ELSE version % 4 END)]
                        WHEN 1 THEN (ARRAY['acme.shop.customers.customer_note_added',\
            'acme.shop.customers.customer_registered','acme.shop.customers.customer_email_changed'])\
            [1 + (CASE WHEN version = 1 THEN 1 ELSE version % 3 END)]
                        WHEN 2 THEN (ARRAY['acme.shop.documents.document_archived',\
            'acme.shop.documents.document_uploaded'])[1 + (CASE WHEN version = 1 THEN 1 ELSE 0 END)]
                        ELSE (ARRAY['acme.shop.inventory.stock_adjusted','acme.shop.inventory.stock_count_recorded'])\
            [1 + version % 2]
                    END AS event_type
                FROM described d
            )
            SELECT \(columns),
                '{"headers":' || \(headers)
                || ',"payload":{"note":"Lieferung \\u00fcber Tor ' || (i % 17) || ' \\/ Rampe ' || (i % 5)
                || '","amount_cents":' || ((hashint4(i::int) & 65535) * 13)
                || ',"currency":"EUR","lines":[{"sku":"SKU-' || lpad((i % 9973)::text, 5, '0') \
            || '","quantity":' || (1 + i % 7)
                || ',"unit_price":{"amount":"' || (i % 997) || '.95","currency":"EUR"}},{"sku":"SKU-' \
            || lpad((i % 7919)::text, 5, '0')
                || '","quantity":1,"unit_price":{"amount":"4.50","currency":"EUR"}}],"content_base64":"'
                || replace(replace(substr(encode(decode(repeat(encode(sha512(int8send(i)), 'hex'), 14), \
            'hex'), 'base64'), 1, pad_length), E'\\n', ''), '/', '\\/')
                || '"}}' AS payload
            FROM typed;
            """
    }

    /// Empties the outbox table and refills it from the template, then vacuums, analyzes and
    /// checkpoints so that every measurement starts from the same state.
    var resetSQL: String {
        let insert: String
        switch flavour {
        case .outbox:
            insert = """
                INSERT INTO \(table) (id, consumed, payload) SELECT id, false, payload::json FROM \(templateTable) \
                ORDER BY id;
                SELECT setval(pg_get_serial_sequence('\(table)', 'id'), \(rows));
                """
        case .dispatcher:
            insert = """
                INSERT INTO \(table) (id, payload, dispatched, time_of_recording, time_of_dispatching)
                    SELECT id, payload::json, false, recorded_at, NULL FROM \(templateTable) ORDER BY recorded_at;
                """
        }
        return """
            TRUNCATE \(table);
            \(insert)
            VACUUM ANALYZE \(table);
            CHECKPOINT;
            """
    }

    /// Counts the rows that are still undelivered (not marked, not deleted).
    var undeliveredCountSQL: String {
        switch flavour {
        case .outbox: return "SELECT count(*) FROM \(table) WHERE consumed = false"
        case .dispatcher: return "SELECT count(*) FROM \(table) WHERE dispatched = false"
        }
    }

    /// Counts the rows still in the table, marked or not.
    var totalCountSQL: String { "SELECT count(*) FROM \(table)" }

    /// The average stored payload length in bytes.
    var averagePayloadSQL: String { "SELECT round(avg(octet_length(payload)))::int FROM \(templateTable)" }

    /// The stored payload bytes of all template rows: what every drain must hand over.
    var totalPayloadBytesSQL: String { "SELECT sum(octet_length(payload))::bigint FROM \(templateTable)" }

    /// The number of distinct aggregate roots in the template.
    var aggregateCountSQL: String {
        "SELECT count(DISTINCT (payload::json -> 'headers' ->> '__aggregate_root_id')) FROM \(templateTable)"
    }

    /// A fingerprint of the generator SQL (FNV-1a), stored as the template table's comment so
    /// an existing template is reused only when it was generated by the same SQL.
    var templateFingerprint: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in generateTemplateSQL.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        return "outbox-relay benchmark template " + String(hash, radix: 16)
    }

    /// Records ``templateFingerprint`` on the template table.
    var markTemplateSQL: String { "COMMENT ON TABLE \(templateTable) IS '\(templateFingerprint)';" }

    /// Returns 1 when the template exists and was generated by this SQL, else 0.
    var templateIsCurrentSQL: String {
        "SELECT count(*) FROM pg_class WHERE oid = to_regclass('\(templateTable)') "
            + "AND obj_description(oid, 'pg_class') = '\(templateFingerprint)'"
    }

    /// Drops the template table.
    var dropTemplateSQL: String { "DROP TABLE IF EXISTS \(templateTable);" }
}
