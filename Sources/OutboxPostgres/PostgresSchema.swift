import OutboxRelay

/// PostgreSQL DDL the relay needs besides PHP's own outbox table.
///
/// Pure text: `outbox-relay schema --notify` prints ``notifyTrigger(table:channel:)``, and
/// ``PostgresSource`` runs ``deadLetterTable(_:)`` on `open()` when the table is missing.
public enum PostgresSchema {
    /// The name of the trigger ``notifyTrigger(table:channel:)`` creates.
    public static let notifyTriggerName = "outbox_relay_notify"

    /// A trigger that calls `pg_notify(channel, '')` once per `INSERT` statement on `table`.
    ///
    /// With it installed and `notify_channel` configured, a relay waiting for rows wakes up
    /// within milliseconds of a commit (notifications are delivered at commit, never for rolled
    /// back inserts) and only runs a slow safety poll while idle. `FOR EACH STATEMENT` keeps
    /// the cost at one notification per inserting statement, however many rows it inserts.
    ///
    /// The text is idempotent (`CREATE OR REPLACE FUNCTION`, `DROP TRIGGER IF EXISTS`): run it
    /// again after changing the channel.
    /// - Parameters:
    ///   - table: the outbox table, optionally schema-qualified.
    ///   - channel: the channel name (validated like an identifier; case is kept).
    /// - Returns: the statements, each `;`-terminated.
    /// - Throws: ``SQLIdentifierError`` when `channel` is not a valid name.
    public static func notifyTrigger(table: SQLIdentifier, channel: String) throws(SQLIdentifierError) -> String {
        let channelName = try SQLIdentifier(channel, allowsSchema: false)
        let function = notifyFunction(for: table)
        return """
            -- outbox-relay: wake relays listening on "\(channelName.name)" when rows are inserted into \(table).
            CREATE OR REPLACE FUNCTION \(function.quoted(for: .postgres))() RETURNS trigger
                LANGUAGE plpgsql AS $outbox_relay$
            BEGIN
                PERFORM pg_notify('\(channelName.name)', '');
                RETURN NULL;
            END
            $outbox_relay$;
            DROP TRIGGER IF EXISTS "\(notifyTriggerName)" ON \(table.quoted(for: .postgres));
            CREATE TRIGGER "\(notifyTriggerName)" AFTER INSERT ON \(table.quoted(for: .postgres))
                FOR EACH STATEMENT EXECUTE FUNCTION \(function.quoted(for: .postgres))();

            """
    }

    /// The relay's dead-letter table (`CREATE TABLE IF NOT EXISTS` and its index), identical
    /// to `OutboxSchema.deadLetterTable(dialect: .postgres, table:)`.
    /// - Parameter table: the table; `nil` means `outbox_relay_dead_letters`.
    public static func deadLetterTable(_ table: SQLIdentifier? = nil) -> String {
        OutboxSchema.deadLetterTable(dialect: .postgres, table: table)
    }

    /// The trigger function's name: `<table>_outbox_relay_notify` (cut to 63 bytes) in the
    /// table's schema.
    static func notifyFunction(for table: SQLIdentifier) -> SQLIdentifier {
        let name = String((table.name + "_" + notifyTriggerName).utf8.prefix(63))!
        return try! SQLIdentifier((table.schema.map { $0 + "." } ?? "") + name)
    }
}
