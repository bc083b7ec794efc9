/// A destination's in-window budget for one message: once it is spent, the message is parked
/// (``ParkedDelivery``) instead of holding up its batch. Config key `retry.park_after`.
public enum ParkAfter: Sendable, Hashable {
    /// Park after this many failed attempts (at least 1).
    case attempts(Int)
    /// Park once the message has been failing this long (checked after each attempt).
    case duration(Duration)
    /// Never park: retry inside the window until ``RetryPolicy/maximumAttempts``.
    case never

    /// Whether a message that failed `attempts` times, the first time `failingFor` ago, is parked.
    func isSpent(attempts: Int, failingFor: Duration) -> Bool {
        switch self {
        case .attempts(let budget): return attempts >= max(budget, 1)
        case .duration(let budget): return failingFor >= budget
        case .never: return false
        }
    }
}
