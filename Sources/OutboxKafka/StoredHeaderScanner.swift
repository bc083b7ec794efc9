import OutboxRelay

/// Walks the members of a stored EventSauce headers object (``OutboxMessage/headersRange``, which
/// the decoder already checked) eight bytes at a time, for the few headers a Kafka record
/// forwards.
///
/// Strings are delimited by looking for the first byte that is `"`, `\`, a control character
/// or non-ASCII in each 8-byte word; a string without any of these is *plain*: its bytes are
/// its text. Anything it does not expect makes ``nextMember()`` return `nil` with
/// ``failed`` set, and the caller falls back to ``OutboxMessage/headers``.
struct StoredHeaderScanner: ~Copyable {
    /// One member: byte ranges into the scanned buffer.
    struct Member {
        /// The key between its quotes.
        var key: Range<Int>
        var keyIsPlain: Bool
        /// The whole value as stored (with quotes for a string).
        var value: Range<Int>
        /// For a string value without escapes or non-ASCII bytes: the text between its quotes.
        var plainText: Range<Int>?
    }

    private let bytes: UnsafeBufferPointer<UInt8>
    private var offset = 0
    private var started = false
    private var finished = false
    private(set) var failed = false

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// The next member, or `nil` at the end of the object (or on unexpected bytes: ``failed``).
    mutating func nextMember() -> Member? {
        guard !finished, !failed else { return nil }
        if !started {
            started = true
            skipWhitespace()
            guard expect(UInt8(ascii: "{")) else { return fail() }
            skipWhitespace()
            if offset < bytes.count && bytes[offset] == UInt8(ascii: "}") {
                finished = true
                return nil
            }
        } else {
            skipWhitespace()
            guard offset < bytes.count else { return fail() }
            switch bytes[offset] {
            case UInt8(ascii: ","):
                offset += 1
                skipWhitespace()
            case UInt8(ascii: "}"):
                finished = true
                return nil
            default:
                return fail()
            }
        }
        guard expect(UInt8(ascii: "\"")), let key = stringBody() else { return fail() }
        skipWhitespace()
        guard expect(UInt8(ascii: ":")) else { return fail() }
        skipWhitespace()
        guard offset < bytes.count else { return fail() }
        let valueStart = offset
        var plainText: Range<Int>?
        switch bytes[offset] {
        case UInt8(ascii: "\""):
            offset += 1
            guard let body = stringBody() else { return fail() }
            if body.isPlain { plainText = body.range }
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var parser = JSONParser(bytes: UnsafeBufferPointer(rebasing: bytes[offset...]))
            guard let skipped = try? parser.skipValue() else { return fail() }
            offset += skipped.upperBound
        default:
            // A number, true, false or null: up to the next separator.
            while offset < bytes.count {
                let byte = bytes[offset]
                if byte == UInt8(ascii: ",") || byte == UInt8(ascii: "}") || Self.isWhitespace(byte) { break }
                offset += 1
            }
        }
        return Member(key: key.range, keyIsPlain: key.isPlain, value: valueStart..<offset, plainText: plainText)
    }

    private mutating func fail() -> Member? {
        failed = true
        return nil
    }

    private mutating func expect(_ byte: UInt8) -> Bool {
        guard offset < bytes.count, bytes[offset] == byte else { return false }
        offset += 1
        return true
    }

    private mutating func skipWhitespace() {
        while offset < bytes.count && Self.isWhitespace(bytes[offset]) { offset += 1 }
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    /// Reads a string body after its opening quote, through the closing quote.
    private mutating func stringBody() -> (range: Range<Int>, isPlain: Bool)? {
        let start = offset
        var position = firstSpecialByte(from: start)
        guard position < bytes.count else { return nil }
        if bytes[position] == UInt8(ascii: "\"") {
            offset = position + 1
            return (start..<position, true)
        }
        // Escapes, control characters or UTF-8: byte by byte to the closing quote.
        while position < bytes.count {
            switch bytes[position] {
            case UInt8(ascii: "\""):
                offset = position + 1
                return (start..<position, false)
            case UInt8(ascii: "\\"):
                position += 2
            default:
                position += 1
            }
        }
        return nil
    }

    /// The index of the first byte from `start` that is `"`, `\`, below 0x20 or above 0x7F
    /// (`bytes.count` if none).
    private func firstSpecialByte(from start: Int) -> Int {
        guard let base = bytes.baseAddress else { return bytes.count }
        var position = start
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        while position + 8 <= bytes.count {
            let word = UInt64(littleEndian: UnsafeRawPointer(base + position).loadUnaligned(as: UInt64.self))
            let quote = word ^ (ones &* 0x22)
            let backslash = word ^ (ones &* 0x5C)
            // Per byte: high bit set, below 0x20, equal to `"` or `\` (the lowest flagged
            // byte of each test is exact; only bytes above it can be flagged wrongly).
            let flags = (word & highs)
                | ((word &- ones &* 0x20) & ~word & highs)
                | ((quote &- ones) & ~quote & highs)
                | ((backslash &- ones) & ~backslash & highs)
            if flags != 0 {
                return position + flags.trailingZeroBitCount / 8
            }
            position += 8
        }
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 || byte >= 0x80 { return position }
            position += 1
        }
        return bytes.count
    }
}
