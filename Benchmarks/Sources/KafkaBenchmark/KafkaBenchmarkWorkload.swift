import OutboxRelay

/// The rows both drains relay: EventSauce 3.x `outbox` rows (PHP's header order, custom
/// `x-…` headers, PHP escaping), ~30,000 aggregates of four types with increasing versions,
/// payloads of 0.6–1.1 KB. Generated once into a template table, copied into a fresh
/// `outbox_messages` before every measurement.
struct KafkaBenchmarkWorkload: Sendable {
    var rows: Int
    var aggregates = 30_000
    let table = "outbox_messages"
    let templateTable = "outbox_relay_kafka_bench"

    var createSQL: String {
        "DROP TABLE IF EXISTS \(table);\n" + OutboxSchema.outboxTable(flavour: .outbox, dialect: .postgres) + """

            DROP TABLE IF EXISTS \(templateTable);
            CREATE UNLOGGED TABLE \(templateTable) AS
            WITH numbered AS (
                SELECT i, (hashint4(i) & 2147483647) % \(aggregates) AS aggregate FROM generate_series(1, \(rows)) AS i
            ), versioned AS (
                SELECT i, aggregate, row_number() OVER (PARTITION BY aggregate ORDER BY i) AS version FROM numbered
            ), described AS (
                SELECT i, version, aggregate % 4 AS kind,
                    md5('aggregate-' || aggregate)::uuid::text AS aggregate_id,
                    md5('event-' || i)::uuid::text AS event_id,
                    md5('request-' || i)::uuid::text AS request_id,
                    to_char(timestamp '2024-03-14 05:04:50' + make_interval(secs => i / 1000.0), \
            'YYYY-MM-DD HH24:MI:SS.US') || '+0000' AS recorded_text,
                    300 + (hashint4(i + 7) & 2147483647) % 500 AS pad_length
                FROM versioned
            )
            SELECT i AS id,
                '{"headers":{"__time_of_recording":"' || recorded_text \
            || '","__time_of_recording_format":"Y-m-d H:i:s.uO","__aggregate_root_id":"' || aggregate_id
                || '","__aggregate_root_type":"' || (ARRAY['acme.shop.orders.order','acme.shop.customers.customer',\
            'acme.shop.documents.document','acme.shop.inventory.warehouse'])[1 + kind]
                || '","__aggregate_root_version":' || version
                || ',"__event_type":"' || (ARRAY['acme.shop.orders.order_line_added',\
            'acme.shop.customers.customer_note_added',\
            'acme.shop.documents.document_uploaded','acme.shop.inventory.stock_adjusted'])[1 + kind]
                || '","__event_id":"' || event_id || '","x-request-id":"' || request_id \
            || '","x-tenant":"' || (ARRAY['alpha-tenant','beta-tenant','gamma-tenant'])[1 + i % 3]
                || '"},"payload":{"note":"Lieferung \\u00fcber Tor ' || (i % 17) || ' \\/ Rampe ' || (i % 5)
                || '","amount_cents":' || ((hashint4(i) & 65535) * 13) || ',"currency":"EUR","content_base64":"'
                || replace(replace(substr(encode(decode(repeat(encode(sha512(int8send(i::bigint)), 'hex'), 14), \
            'hex'), 'base64'), 1, pad_length), E'\\n', ''), '/', '\\/')
                || '"}}' AS payload
            FROM described;
            """
    }

    /// A fresh table holding every row undelivered, vacuumed and checkpointed.
    var resetSQL: String {
        """
        TRUNCATE \(table);
        INSERT INTO \(table) (id, consumed, payload) SELECT id, false, payload::json FROM \(templateTable) ORDER BY id;
        SELECT setval(pg_get_serial_sequence('\(table)', 'id'), \(rows));
        VACUUM ANALYZE \(table);
        CHECKPOINT;
        """
    }

    var undeliveredSQL: String { "SELECT count(*) FROM \(table) WHERE consumed = false" }
    var averageBytesSQL: String { "SELECT avg(length(payload))::int FROM \(templateTable)" }
}
