/// A stored payload larger than a source's maximum payload size, left in the table unread.
///
/// Sources compare the payload column's length with their limit in the read query itself, so
/// an oversized payload never crosses the connection: the row arrives with an empty payload
/// and this record, and the engine dead-letters it with ``reason``.
public struct OversizedPayload: Sendable, Hashable {
    /// The stored payload's size in bytes.
    public var size: Int
    /// The source's maximum payload size in bytes.
    public var limit: Int

    /// The maximum payload size of the built-in sources unless configured: 16 MiB.
    public static let defaultLimit = 16 << 20

    public init(size: Int, limit: Int) {
        self.size = size
        self.limit = limit
    }

    /// The dead letter's reason: `payload of N bytes exceeds max_payload_bytes M`.
    public var reason: String {
        "payload of \(size) bytes exceeds max_payload_bytes \(limit) (set aside unread)"
    }
}
