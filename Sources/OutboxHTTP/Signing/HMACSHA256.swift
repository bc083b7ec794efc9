/// HMAC-SHA256 (RFC 2104) with a key prepared once.
///
/// The key's inner and outer pads are hashed when the value is created, so signing many
/// messages with one key costs two SHA-256 passes over each message's length, not four.
public struct HMACSHA256: Sendable {
    private let innerState: SHA256
    private let outerState: SHA256

    /// Prepares a key. Keys longer than the SHA-256 block (64 bytes) are hashed first.
    public init<Key: Collection>(key: Key) where Key.Element == UInt8 {
        var block = key.count > SHA256.blockByteCount ? SHA256.hash(key) : Array(key)
        block.append(contentsOf: repeatElement(0, count: SHA256.blockByteCount - block.count))
        var inner = SHA256()
        inner.update(block.map { $0 ^ 0x36 })
        var outer = SHA256()
        outer.update(block.map { $0 ^ 0x5c })
        innerState = inner
        outerState = outer
    }

    /// The 32-byte authentication code of `message`.
    public func authenticationCode<Message: Sequence>(for message: Message) -> [UInt8] where Message.Element == UInt8 {
        var inner = innerState
        inner.update(message)
        return finish(inner)
    }

    /// The authentication code of several parts concatenated, without copying them together.
    public func authenticationCode(forParts parts: [UnsafeRawBufferPointer]) -> [UInt8] {
        var inner = innerState
        for part in parts { inner.update(buffer: part) }
        return finish(inner)
    }

    private func finish(_ inner: consuming SHA256) -> [UInt8] {
        let innerDigest = inner.finalize()
        var outer = outerState
        outer.update(innerDigest)
        return outer.finalize()
    }

    /// The authentication code of `message` under `key`, in one call.
    public static func authenticationCode<Key: Collection, Message: Sequence>(key: Key, message: Message) -> [UInt8]
    where Key.Element == UInt8, Message.Element == UInt8 {
        HMACSHA256(key: key).authenticationCode(for: message)
    }
}
