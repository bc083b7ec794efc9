import OutboxRelay

extension PostgresSource: AfterDeliveryReporting {
    /// Whether delivered rows are marked or deleted, as configured.
    public nonisolated var afterDelivery: AfterDelivery { configuration.afterDelivery }
}
