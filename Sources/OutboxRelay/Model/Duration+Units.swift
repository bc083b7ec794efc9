extension Duration {
    /// The duration in seconds, with a fraction.
    public var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }

    /// The duration in whole milliseconds, rounded toward zero: what C APIs with
    /// millisecond timeouts take (libcurl, librdkafka, SQLite, `poll`). Saturates at
    /// `Int64.min` and `Int64.max` rather than overflowing.
    public var milliseconds: Int64 { wholeUnits(perSecond: 1000) }

    /// The duration in whole microseconds, rounded toward zero (what a metrics timer records).
    /// Saturates at `Int64.min` and `Int64.max` rather than overflowing.
    public var microseconds: Int64 { wholeUnits(perSecond: 1_000_000) }

    /// Whole units of `1 / unitsPerSecond` seconds (a power of ten up to 10¹⁸), saturating.
    private func wholeUnits(perSecond unitsPerSecond: Int64) -> Int64 {
        let (whole, attoseconds) = components
        let scaled = whole.multipliedReportingOverflow(by: unitsPerSecond)
        guard !scaled.overflow else { return whole < 0 ? .min : .max }
        let total = scaled.partialValue.addingReportingOverflow(
            attoseconds / (1_000_000_000_000_000_000 / unitsPerSecond)
        )
        guard !total.overflow else { return whole < 0 ? .min : .max }
        return total.partialValue
    }

    /// `seconds` with microsecond precision, or `nil` when it is not finite or its microseconds
    /// do not fit in `Int64` (about ±292,000 years): for numbers read from config files and
    /// server replies, which must not trap.
    public init?(checkedSeconds seconds: Double) {
        let micros = (seconds * 1_000_000).rounded(.towardZero)
        guard let exact = Int64(exactly: micros) else { return nil }
        self = .microseconds(exact)
    }

    /// `seconds` with microsecond precision, clamped to what `Int64` microseconds hold;
    /// NaN gives zero.
    public init(saturatingSeconds seconds: Double) {
        if let checked = Duration(checkedSeconds: seconds) {
            self = checked
        } else if seconds.isNaN {
            self = .zero
        } else {
            self = .microseconds(seconds < 0 ? Int64.min : Int64.max)
        }
    }
}
