extension Duration {
    /// The duration in seconds, with a fraction.
    public var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }

    /// The duration in whole milliseconds, rounded toward zero: what C APIs with
    /// millisecond timeouts take (libcurl, librdkafka, SQLite, `poll`).
    public var milliseconds: Int64 {
        let (whole, attoseconds) = components
        return whole * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
