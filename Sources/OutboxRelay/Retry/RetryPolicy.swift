/// How failed deliveries are retried: exponential backoff with jitter, then dead-lettering.
///
/// The delay before attempt *n + 1* is `initialDelay × multiplier^(n − 1)`, capped at
/// `maximumDelay`, then randomized by ±`jitter` (a fraction). A destination's `Retry-After`
/// hint raises the delay to at least that hint. After `maximumAttempts` failed attempts the
/// message goes to the dead-letter table.
public struct RetryPolicy: Sendable, Hashable {
    /// Delay after the first failure. Default 200 ms.
    public var initialDelay: Duration
    /// Growth factor per attempt. Default 2.
    public var multiplier: Double
    /// Upper bound for one delay. Default 60 s.
    public var maximumDelay: Duration
    /// Randomization, as a fraction of the delay (0 – 1). Default 0.2 (±20 %).
    public var jitter: Double
    /// Attempts before a message is dead-lettered; `nil` retries forever. Default 12
    /// (11 waits of 0.2 s … 60 s, about 3.7 minutes of retrying with the other defaults).
    public var maximumAttempts: Int?
    /// How long a destination retries a message inside the batch window before it is parked
    /// (``ParkedDelivery``) and its row completes for the other destinations. Default
    /// ``ParkAfter/attempts(_:)`` 3 (about 0.6 s with the other defaults). Sources that keep no
    /// parked-deliveries table (``ParkedDeliveryStore``) never park.
    public var parkAfter: ParkAfter
    /// How long after its first failure a parked message is dead-lettered even if attempts
    /// remain; `nil` for no age limit. Default 24 hours.
    public var maximumAge: Duration?

    public init(
        initialDelay: Duration = .milliseconds(200),
        multiplier: Double = 2,
        maximumDelay: Duration = .seconds(60),
        jitter: Double = 0.2,
        maximumAttempts: Int? = 12,
        parkAfter: ParkAfter = .attempts(3),
        maximumAge: Duration? = .seconds(86_400)
    ) {
        self.initialDelay = initialDelay
        self.multiplier = multiplier
        self.maximumDelay = maximumDelay
        self.jitter = jitter
        self.maximumAttempts = maximumAttempts
        self.parkAfter = parkAfter
        self.maximumAge = maximumAge
    }

    /// The defaults above.
    public static let `default` = RetryPolicy()

    /// Whether another attempt is allowed after `attempts` failed ones.
    public func allowsRetry(after attempts: Int) -> Bool {
        guard let maximumAttempts else { return true }
        return attempts < maximumAttempts
    }

    /// The delay to wait after `attempt` (1-based) failed.
    ///
    /// - Parameters:
    ///   - attempt: how many attempts have failed so far.
    ///   - retryAfter: the destination's hint, honoured as a lower bound (capped at `maximumDelay`
    ///     only if the hint is absent).
    ///   - random: a number in `0...1` (injectable for tests).
    public func delay(
        afterAttempt attempt: Int,
        retryAfter: Duration? = nil,
        random: Double = Double.random(in: 0...1)
    ) -> Duration {
        let base = initialDelay.seconds * pow(multiplier, Double(max(attempt, 1) - 1))
        let capped = min(base, maximumDelay.seconds)
        let factor = 1 + jitter * (2 * random - 1)
        var seconds = max(0, capped * factor)
        if let retryAfter { seconds = max(seconds, retryAfter.seconds) }
        return Duration(saturatingSeconds: seconds)
    }
}

private func pow(_ base: Double, _ exponent: Double) -> Double {
    var result = 1.0
    var remaining = Int(exponent)
    var factor = base
    while remaining > 0 {
        if remaining & 1 == 1 { result *= factor }
        factor *= factor
        remaining >>= 1
    }
    return result
}
