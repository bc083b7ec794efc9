/// When to try again after a lost connection, and when to give up.
///
/// The waits follow a ``RetryPolicy`` (`initialDelay`, growing by `multiplier` up to
/// `maximumDelay`); the policy's `maximumAttempts` is not used: instead a caller gives up once
/// the next wait would end after `maximumTime` without a connection. A successful connection
/// (``connected(at:)``) starts the schedule over. A value type, driven with explicit instants,
/// so it is tested without waiting:
///
/// ```swift
/// var backoff = ReconnectBackoff(policy: policy, maximumTime: .seconds(30), now: .now)
/// while true {
///     do { return try connect() } catch {
///         guard let delay = backoff.delayAfterFailure(at: .now) else { throw error }
///         try await Task.sleep(for: delay)
///     }
/// }
/// ```
public struct ReconnectBackoff: Sendable {
    /// The waits between attempts.
    public let policy: RetryPolicy
    /// How long to keep trying without a connection.
    public let maximumTime: Duration
    private var failures = 0
    private var deadline: ContinuousClock.Instant

    /// Starts a schedule whose time runs from `now`.
    public init(policy: RetryPolicy, maximumTime: Duration, now: ContinuousClock.Instant) {
        self.policy = policy
        self.maximumTime = maximumTime
        self.deadline = now + maximumTime
    }

    /// A connection was established at `now`: the next failure waits `initialDelay` again and
    /// the time runs anew.
    public mutating func connected(at now: ContinuousClock.Instant) {
        failures = 0
        deadline = now + maximumTime
    }

    /// Records a failed attempt at `now` and returns how long to wait before the next one, or
    /// `nil` when that wait would end after the deadline (give up and report the error).
    /// - Parameter random: a number in `0...1` for the policy's jitter (injectable for tests).
    public mutating func delayAfterFailure(
        at now: ContinuousClock.Instant,
        random: Double = Double.random(in: 0...1)
    ) -> Duration? {
        failures += 1
        let delay = policy.delay(afterAttempt: failures, random: random)
        guard now + delay < deadline else { return nil }
        return delay
    }
}
