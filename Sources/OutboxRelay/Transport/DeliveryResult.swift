/// The outcome of delivering one message to one transport.
public enum DeliveryResult: Sendable, Hashable {
    /// The destination acknowledged the message.
    case delivered
    /// The attempt failed in a way that may succeed later (timeout, broker down, HTTP 503).
    /// `retryAfter` is the destination's own hint (HTTP `Retry-After`), if any.
    case retryable(String, retryAfter: Duration? = nil)
    /// The attempt failed for good (message too large, HTTP 400, endpoint gone): the message
    /// goes to the dead-letter table without further attempts.
    case permanent(String)

    /// Whether the message was delivered.
    public var isDelivered: Bool {
        if case .delivered = self { return true }
        return false
    }

    /// The failure's explanation, if it failed.
    public var failureReason: String? {
        switch self {
        case .delivered: return nil
        case .retryable(let reason, _), .permanent(let reason): return reason
        }
    }
}
