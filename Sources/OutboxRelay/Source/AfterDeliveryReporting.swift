/// A source that says what it does with delivered rows (the `action` label of
/// `outbox_relay_rows_completed_total`).
public protocol AfterDeliveryReporting: Sendable {
    /// Whether delivered rows are marked or deleted.
    var afterDelivery: AfterDelivery { get }
}
