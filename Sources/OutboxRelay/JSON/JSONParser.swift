/// Why bytes are not valid JSON.
public struct JSONParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The byte offset where parsing stopped.
    public var offset: Int
    /// What was wrong there.
    public var reason: String
    /// Whether the input ended before the value was complete (a truncated document).
    public var isTruncated: Bool

    public var description: String {
        isTruncated
            ? "JSON ends early at byte \(offset) (truncated?): \(reason)" : "invalid JSON at byte \(offset): \(reason)"
    }
}

/// A strict, allocation-light JSON parser over bytes (RFC 8259).
///
/// Besides building ``JSONValue``s it can *skip* a value, checking its syntax and returning
/// its byte range without building anything: the envelope decoder uses that for the
/// `payload` member, which the relay forwards as stored bytes.
public struct JSONParser: ~Copyable {
    private let bytes: UnsafeBufferPointer<UInt8>
    /// The current read offset.
    public private(set) var offset: Int
    private let maximumDepth: Int

    public init(bytes: UnsafeBufferPointer<UInt8>, maximumDepth: Int = 512) {
        self.bytes = bytes
        self.offset = 0
        self.maximumDepth = maximumDepth
    }

    /// Parses one complete document; only whitespace may follow it.
    public static func parse(_ input: some Collection<UInt8>) throws(JSONParseError) -> JSONValue {
        let array = Array(input)
        return try array.withUnsafeBufferPointer { (buffer) throws(JSONParseError) -> JSONValue in
            var parser = JSONParser(bytes: buffer)
            let value = try parser.parseValue(depth: 0)
            try parser.expectEnd()
            return value
        }
    }

    /// Parses one complete document from text.
    public static func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        try parse(Array(text.utf8))
    }

    // MARK: Navigation used by the envelope decoder

    /// Fails unless only whitespace remains.
    public mutating func expectEnd() throws(JSONParseError) {
        skipWhitespace()
        if offset != bytes.count { throw error("unexpected content after the JSON value") }
    }

    /// Consumes `{` and reports whether the object is empty (`}` consumed too).
    public mutating func beginObject() throws(JSONParseError) -> Bool {
        skipWhitespace()
        guard offset < bytes.count else { throw truncated("expected an object") }
        guard bytes[offset] == UInt8(ascii: "{") else { throw error("expected an object") }
        offset += 1
        skipWhitespace()
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "}") {
            offset += 1
            return true
        }
        return false
    }

    /// Reads a member key and its colon.
    public mutating func readKey() throws(JSONParseError) -> String {
        skipWhitespace()
        let key = try parseString()
        try expectColon()
        return key
    }

    /// The next byte after whitespace, consuming only the whitespace; `nil` at the end.
    public mutating func peekByte() -> UInt8? {
        skipWhitespace()
        return offset < bytes.count ? bytes[offset] : nil
    }

    /// Whether the next member key starts with `prefix`, consuming nothing but whitespace.
    /// Lets a reader build `String`s only for the keys it wants.
    public mutating func nextKeyHasPrefix(_ prefix: StaticString) -> Bool {
        skipWhitespace()
        let count = prefix.utf8CodeUnitCount
        guard offset + count < bytes.count, bytes[offset] == UInt8(ascii: "\"") else { return false }
        let start = prefix.utf8Start
        for index in 0..<count where bytes[offset + 1 + index] != start[index] {
            return false
        }
        return true
    }

    /// Reads a member key and its colon, and returns what `match` makes of the key's bytes.
    ///
    /// `match` sees the stored bytes when the key holds no escapes (no `String` is built, so a
    /// reader looking for a few known keys pays nothing for the others), else the decoded key.
    public mutating func readKey<Match>(_ match: (UnsafeRawBufferPointer) -> Match) throws(JSONParseError) -> Match {
        let matched: Match
        if let plain = readPlainString() {
            matched = match(plain)
        } else {
            // Escapes (or an error): decode it the slow way.
            var key = try parseString()
            matched = key.withUTF8 { match(UnsafeRawBufferPointer($0)) }
        }
        try expectColon()
        return matched
    }

    /// Reads a string value that holds no escapes and returns its stored bytes; returns `nil`
    /// and consumes nothing (but whitespace) when the next value is anything else.
    public mutating func readPlainString() -> UnsafeRawBufferPointer? {
        skipWhitespace()
        guard offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") else { return nil }
        let quote = offset
        offset += 1
        skipPlainStringBytes()
        guard offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") else {
            offset = quote
            return nil
        }
        offset += 1
        return UnsafeRawBufferPointer(start: bytes.baseAddress.map { $0 + quote + 1 }, count: offset - quote - 2)
    }

    /// Skips a member key and its colon.
    public mutating func skipKey() throws(JSONParseError) {
        skipWhitespace()
        try skipString()
        try expectColon()
    }

    /// Consumes the colon after an object key.
    private mutating func expectColon() throws(JSONParseError) {
        skipWhitespace()
        guard offset < bytes.count else { throw truncated("expected ':'") }
        guard bytes[offset] == UInt8(ascii: ":") else { throw error("expected ':' after an object key") }
        offset += 1
    }

    /// After a member value: consumes `,` and returns `true`, or consumes `}` and returns `false`.
    public mutating func nextMember() throws(JSONParseError) -> Bool {
        skipWhitespace()
        guard offset < bytes.count else { throw truncated("expected ',' or '}'") }
        switch bytes[offset] {
        case UInt8(ascii: ","):
            offset += 1
            return true
        case UInt8(ascii: "}"):
            offset += 1
            return false
        default:
            throw error("expected ',' or '}' in an object")
        }
    }

    /// Checks the syntax of the next value and returns its byte range, building nothing.
    public mutating func skipValue() throws(JSONParseError) -> Range<Int> {
        skipWhitespace()
        let start = offset
        try skip(depth: 0)
        return start..<offset
    }

    // MARK: Building values

    public mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        skipWhitespace()
        guard offset < bytes.count else { throw truncated("expected a value") }
        guard depth < maximumDepth else { throw error("nesting deeper than \(maximumDepth) levels") }
        switch bytes[offset] {
        case UInt8(ascii: "{"):
            offset += 1
            var members: [(key: String, value: JSONValue)] = []
            skipWhitespace()
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "}") {
                offset += 1
                return .object(JSONObject(members))
            }
            repeat {
                let key = try readKey()
                let value = try parseValue(depth: depth + 1)
                members.append((key: key, value: value))
            } while try nextMember()
            return .object(JSONObject(members))
        case UInt8(ascii: "["):
            offset += 1
            var elements: [JSONValue] = []
            skipWhitespace()
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "]") {
                offset += 1
                return .array(elements)
            }
            while true {
                elements.append(try parseValue(depth: depth + 1))
                skipWhitespace()
                guard offset < bytes.count else { throw truncated("expected ',' or ']'") }
                if bytes[offset] == UInt8(ascii: ",") {
                    offset += 1
                } else if bytes[offset] == UInt8(ascii: "]") {
                    offset += 1
                    return .array(elements)
                } else {
                    throw error("expected ',' or ']' in an array")
                }
            }
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        default:
            let start = offset
            try skipNumber()
            return .number(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<offset]), as: UTF8.self))
        }
    }

    // MARK: Scanning

    private mutating func skip(depth: Int) throws(JSONParseError) {
        guard offset < bytes.count else { throw truncated("expected a value") }
        guard depth < maximumDepth else { throw error("nesting deeper than \(maximumDepth) levels") }
        switch bytes[offset] {
        case UInt8(ascii: "{"):
            offset += 1
            skipWhitespace()
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "}") {
                offset += 1
                return
            }
            repeat {
                skipWhitespace()
                try skipString()
                try expectColon()
                skipWhitespace()
                try skip(depth: depth + 1)
            } while try nextMember()
        case UInt8(ascii: "["):
            offset += 1
            skipWhitespace()
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "]") {
                offset += 1
                return
            }
            while true {
                skipWhitespace()
                try skip(depth: depth + 1)
                skipWhitespace()
                guard offset < bytes.count else { throw truncated("expected ',' or ']'") }
                if bytes[offset] == UInt8(ascii: ",") {
                    offset += 1
                } else if bytes[offset] == UInt8(ascii: "]") {
                    offset += 1
                    return
                } else {
                    throw error("expected ',' or ']' in an array")
                }
            }
        case UInt8(ascii: "\""):
            try skipString()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: try skipNumber()
        }
    }

    /// Advances over string content that needs no attention: bytes that are not `"`, `\\` or
    /// a control character. Checks eight bytes at a time (payloads are mostly long strings).
    @inline(__always)
    private mutating func skipPlainStringBytes() {
        guard let base = bytes.baseAddress else { return }
        let raw = UnsafeRawPointer(base)
        let end = bytes.count
        var index = offset
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let quotes = SIMD16<UInt8>(repeating: 0x22)
        let backslashes = SIMD16<UInt8>(repeating: 0x5C)
        let controls = SIMD16<UInt8>(repeating: 0x20)
        while index &+ 16 <= end {
            let vector = raw.loadUnaligned(fromByteOffset: index, as: SIMD16<UInt8>.self)
            if any((vector .== quotes) .| (vector .== backslashes) .| (vector .< controls)) { break }
            index &+= 16
        }
        while index &+ 8 <= end {
            let word = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: index, as: UInt64.self))
            let quote = word ^ (ones &* 0x22)
            let backslash = word ^ (ones &* 0x5C)
            let special =
                (((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((word &- ones &* 0x20) & ~word))
                & highs
            if special != 0 {
                // The lowest flagged byte is exact (a borrow only flags bytes above a match).
                offset = index &+ special.trailingZeroBitCount &>> 3
                return
            }
            index &+= 8
        }
        while index < end {
            let byte = base[index]
            if byte == 0x22 || byte == 0x5C || byte < 0x20 { break }
            index &+= 1
        }
        offset = index
    }

    private mutating func skipWhitespace() {
        while offset < bytes.count {
            switch bytes[offset] {
            case 0x20, 0x09, 0x0A, 0x0D: offset += 1
            default: return
            }
        }
    }

    private mutating func literal(_ word: StaticString) throws(JSONParseError) {
        let count = word.utf8CodeUnitCount
        let start = word.utf8Start
        for index in 0..<count {
            guard offset + index < bytes.count else { throw truncated("incomplete literal") }
            guard bytes[offset + index] == start[index] else { throw error("invalid literal") }
        }
        offset += count
    }

    private mutating func skipNumber() throws(JSONParseError) {
        let start = offset
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "-") { offset += 1 }
        guard offset < bytes.count else { throw truncated("incomplete number") }
        if bytes[offset] == UInt8(ascii: "0") {
            offset += 1
        } else if isDigit(bytes[offset]) {
            while offset < bytes.count, isDigit(bytes[offset]) { offset += 1 }
        } else {
            throw error(offset == start ? "unexpected character '\(printable(bytes[offset]))'" : "invalid number")
        }
        if offset < bytes.count, bytes[offset] == UInt8(ascii: ".") {
            offset += 1
            guard offset < bytes.count else { throw truncated("incomplete number") }
            guard isDigit(bytes[offset]) else { throw error("invalid number") }
            while offset < bytes.count, isDigit(bytes[offset]) { offset += 1 }
        }
        if offset < bytes.count, bytes[offset] == UInt8(ascii: "e") || bytes[offset] == UInt8(ascii: "E") {
            offset += 1
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "+") || bytes[offset] == UInt8(ascii: "-") {
                offset += 1
            }
            guard offset < bytes.count else { throw truncated("incomplete number") }
            guard isDigit(bytes[offset]) else { throw error("invalid number") }
            while offset < bytes.count, isDigit(bytes[offset]) { offset += 1 }
        }
    }

    private mutating func skipString() throws(JSONParseError) {
        guard offset < bytes.count else { throw truncated("expected a string") }
        guard bytes[offset] == UInt8(ascii: "\"") else { throw error("expected a string") }
        offset += 1
        while offset < bytes.count {
            skipPlainStringBytes()
            guard offset < bytes.count else { break }
            let byte = bytes[offset]
            if byte == UInt8(ascii: "\"") {
                offset += 1
                return
            } else if byte == UInt8(ascii: "\\") {
                offset += 1
                guard offset < bytes.count else { break }
                if bytes[offset] == UInt8(ascii: "u") {
                    let unit = try hex4(at: offset + 1)
                    offset += 5
                    if (0xD800...0xDBFF).contains(unit) {
                        _ = try readLowSurrogate()
                    } else if (0xDC00...0xDFFF).contains(unit) {
                        throw error("unpaired UTF-16 surrogate")
                    }
                } else {
                    guard isSimpleEscape(bytes[offset]) else { throw error("invalid escape sequence") }
                    offset += 1
                }
            } else if byte < 0x20 {
                throw error("control character in a string")
            } else {
                offset += 1
            }
        }
        throw truncated("unterminated string")
    }

    private mutating func parseString() throws(JSONParseError) -> String {
        guard offset < bytes.count else { throw truncated("expected a string") }
        guard bytes[offset] == UInt8(ascii: "\"") else { throw error("expected a string") }
        offset += 1
        let start = offset
        // Fast path: no escapes.
        skipPlainStringBytes()
        while offset < bytes.count {
            let byte = bytes[offset]
            if byte == UInt8(ascii: "\"") {
                let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<offset]), as: UTF8.self)
                offset += 1
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            if byte < 0x20 { throw error("control character in a string") }
            offset += 1
        }
        var scratch = Array(UnsafeBufferPointer(rebasing: bytes[start..<offset]))
        while offset < bytes.count {
            let byte = bytes[offset]
            if byte == UInt8(ascii: "\"") {
                offset += 1
                return String(decoding: scratch, as: UTF8.self)
            } else if byte == UInt8(ascii: "\\") {
                offset += 1
                guard offset < bytes.count else { break }
                let escape = bytes[offset]
                offset += 1
                switch escape {
                case UInt8(ascii: "\""): scratch.append(0x22)
                case UInt8(ascii: "\\"): scratch.append(0x5C)
                case UInt8(ascii: "/"): scratch.append(0x2F)
                case UInt8(ascii: "b"): scratch.append(0x08)
                case UInt8(ascii: "f"): scratch.append(0x0C)
                case UInt8(ascii: "n"): scratch.append(0x0A)
                case UInt8(ascii: "r"): scratch.append(0x0D)
                case UInt8(ascii: "t"): scratch.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = UInt32(try hex4(at: offset))
                    offset += 4
                    if (0xD800...0xDBFF).contains(scalar) {
                        let low = UInt32(try readLowSurrogate())
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        throw error("unpaired UTF-16 surrogate")
                    }
                    appendUTF8(scalar, to: &scratch)
                default:
                    throw error("invalid escape sequence")
                }
            } else if byte < 0x20 {
                throw error("control character in a string")
            } else {
                scratch.append(byte)
                offset += 1
            }
        }
        throw truncated("unterminated string")
    }

    /// After a high surrogate's `\uXXXX`: reads the `\uXXXX` low surrogate that must follow.
    /// PHP's `json_decode` rejects unpaired surrogates, so parsing and skipping both do.
    private mutating func readLowSurrogate() throws(JSONParseError) -> UInt16 {
        if offset == bytes.count || (offset + 1 == bytes.count && bytes[offset] == UInt8(ascii: "\\")) {
            throw truncated("unterminated string")  // cut between the two halves of a pair
        }
        guard offset + 1 < bytes.count, bytes[offset] == UInt8(ascii: "\\"), bytes[offset + 1] == UInt8(ascii: "u")
        else {
            throw error("unpaired UTF-16 surrogate")
        }
        let low = try hex4(at: offset + 2)
        guard (0xDC00...0xDFFF).contains(low) else { throw error("unpaired UTF-16 surrogate") }
        offset += 6
        return low
    }

    private func hex4(at position: Int) throws(JSONParseError) -> UInt16 {
        guard position + 4 <= bytes.count else {
            throw JSONParseError(offset: bytes.count, reason: "incomplete \\u escape", isTruncated: true)
        }
        var value: UInt16 = 0
        for index in position..<(position + 4) {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw JSONParseError(offset: index, reason: "invalid \\u escape", isTruncated: false)
            }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    private func appendUTF8(_ scalar: UInt32, to output: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            output.append(UInt8(scalar))
        case 0x80..<0x800:
            output.append(UInt8(0xC0 | (scalar >> 6)))
            output.append(UInt8(0x80 | (scalar & 0x3F)))
        case 0x800..<0x10000:
            output.append(UInt8(0xE0 | (scalar >> 12)))
            output.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            output.append(UInt8(0x80 | (scalar & 0x3F)))
        default:
            output.append(UInt8(0xF0 | (scalar >> 18)))
            output.append(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
            output.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            output.append(UInt8(0x80 | (scalar & 0x3F)))
        }
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private func isSimpleEscape(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
            UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            return true
        default:
            return false
        }
    }

    private func printable(_ byte: UInt8) -> String {
        (0x20..<0x7F).contains(byte) ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16)
    }

    private func error(_ reason: String) -> JSONParseError {
        JSONParseError(offset: offset, reason: reason, isTruncated: false)
    }

    private func truncated(_ reason: String) -> JSONParseError {
        JSONParseError(offset: offset, reason: reason, isTruncated: true)
    }
}

extension UnsafeRawBufferPointer {
    /// Whether these bytes are exactly `text`'s UTF-8: how the envelope decoder recognises keys
    /// without building `String`s.
    @inline(__always)
    func equals(_ text: StaticString) -> Bool {
        equals(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Whether both hold the same bytes (compared eight at a time).
    @inline(__always)
    func equals(_ other: UnsafeRawBufferPointer) -> Bool {
        let count = other.count
        guard self.count == count else { return false }
        guard count > 0, let base = baseAddress, let expected = other.baseAddress else { return true }
        var index = 0
        while index &+ 8 <= count {
            if base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                != expected.loadUnaligned(fromByteOffset: index, as: UInt64.self)
            {
                return false
            }
            index &+= 8
        }
        while index < count {
            if base.load(fromByteOffset: index, as: UInt8.self) != expected.load(fromByteOffset: index, as: UInt8.self)
            {
                return false
            }
            index &+= 1
        }
        return true
    }
}
