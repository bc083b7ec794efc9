/// Shares the `String`s of header values that repeat from row to row — event types, aggregate
/// root types, time formats — across the messages of one batch, instead of allocating one per
/// message.
///
/// Remembers up to ``capacity`` distinct values, first come first kept. Not thread-safe: one per
/// batch being decoded.
final class HeaderValueInterner {
    /// Distinct values kept, at most.
    static let capacity = 64

    private var entries: [(bytes: [UInt8], value: String)] = []

    /// The string for `bytes` (valid UTF-8 is kept, invalid sequences repaired as usual).
    func string(_ bytes: UnsafeRawBufferPointer) -> String {
        for entry in entries where entry.bytes.count == bytes.count {
            if entry.bytes.withUnsafeBytes({ $0.equals(bytes) }) { return entry.value }
        }
        let value = String(decoding: bytes, as: UTF8.self)
        if entries.count < Self.capacity { entries.append((Array(bytes), value)) }
        return value
    }
}
