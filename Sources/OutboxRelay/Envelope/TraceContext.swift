#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A W3C Trace Context (`traceparent` and `tracestate`) carried in an event's EventSauce
/// headers, validated so transports can forward it: as Kafka record headers, as webhook request
/// headers and as the CloudEvents distributed-tracing extension attributes.
///
/// A PHP decorator writes the context of the request that recorded the event into the headers.
/// The names read, first match wins: `traceparent` (then `__traceparent`) and `tracestate`
/// (then `__tracestate`). Values must be JSON strings, written exactly as the W3C headers are.
///
/// The rules are those of [W3C Trace Context](https://www.w3.org/TR/trace-context/):
/// - `traceparent`: `version-traceid-parentid-flags`, lowercase hex. Version `00` is exactly 55
///   characters; a higher version (not `ff`) may carry more after a `-` at position 55 and is
///   forwarded as written. The trace id (32 hex) and parent id (16 hex) are not all zero.
/// - `tracestate`: at most 32 comma-separated list members `key=value` (empty members and
///   spaces or tabs around them allowed); keys are `simple-key` (a-z, then up to 255 of
///   a-z 0-9 `_ - * /`) or `tenant@system` (tenant up to 241, system up to 14 characters);
///   values 1–256 printable ASCII characters without `,` and `=`, not ending in a space; no
///   key twice.
///
/// An invalid `traceparent` drops the whole context (a `tracestate` means nothing without
/// it, and one without a `traceparent` is ignored); an invalid `tracestate` drops only
/// itself. Transports log what was dropped at debug level and forward the rest.
public struct TraceContext: Sendable, Hashable {
    /// The `traceparent` value, as written.
    public let traceparent: String
    /// The `tracestate` value, as written, when present and valid.
    public let tracestate: String?

    /// The EventSauce header names trace context is read from, in order of preference.
    public enum HeaderName {
        public static let traceparent = ["traceparent", "__traceparent"]
        public static let tracestate = ["tracestate", "__tracestate"]
    }

    /// The longest `traceparent` forwarded (a future version may append fields).
    public static let maximumTraceparentLength = 512
    /// The most list members a `tracestate` may hold.
    public static let maximumTracestateMembers = 32

    /// Validates a context.
    /// - Throws: ``TraceContextError`` when `traceparent` is invalid. An invalid `tracestate`
    ///   does not throw: use ``extract(from:)`` to learn why it was dropped.
    public init(traceparent: String, tracestate: String? = nil) throws(TraceContextError) {
        if let problem = Self.traceparentProblem(traceparent) {
            throw TraceContextError(header: "traceparent", reason: problem)
        }
        self.traceparent = traceparent
        self.tracestate = tracestate.flatMap { Self.tracestateProblem($0) == nil ? $0 : nil }
    }

    private init(validTraceparent: String, validTracestate: String?) {
        self.traceparent = validTraceparent
        self.tracestate = validTracestate
    }

    /// What a message's headers hold: the context to forward, and what was dropped and why.
    public struct Extraction: Sendable, Hashable {
        /// The context to forward; `nil` when there is none or its `traceparent` is invalid.
        public var context: TraceContext?
        /// Why a header present in the message was dropped (empty when nothing was).
        public var dropped: [TraceContextError]

        /// No trace context and nothing dropped.
        public static let none = Extraction(context: nil, dropped: [])
    }

    /// Reads and validates the trace context of `message`.
    ///
    /// Cheap for messages without one: for a decoded message the stored headers are first
    /// searched for the bytes `traceparent`, and parsed only when they occur.
    public static func extract(from message: OutboxMessage) -> Extraction {
        enum Scan {
            case absent
            case found(JSONValue?, JSONValue?)
            case unreadable
        }
        let scanned: Scan =
            message.headersRange.map { range in
                message.envelope.withUnsafeBufferPointer { buffer in
                    guard range.lowerBound >= 0, range.upperBound <= buffer.count else { return .unreadable }
                    let headers = UnsafeBufferPointer(rebasing: buffer[range])
                    guard contains(headers, "traceparent") else { return .absent }
                    guard let values = try? scan(headers) else { return .unreadable }
                    return .found(values.0, values.1)
                }
            } ?? .unreadable
        let traceparent: JSONValue?
        let tracestate: JSONValue?
        switch scanned {
        case .absent: return .none
        case .found(let parent, let state): (traceparent, tracestate) = (parent, state)
        case .unreadable: (traceparent, tracestate) = lookUp(in: message.headers)
        }
        return validate(traceparent: traceparent, tracestate: tracestate)
    }

    /// Validates header values as read from EventSauce headers.
    static func validate(traceparent: JSONValue?, tracestate: JSONValue?) -> Extraction {
        // Without a traceparent a tracestate means nothing: ignored, as W3C says.
        guard let traceparent else { return .none }
        guard let parent = traceparent.stringValue else {
            return Extraction(
                context: nil,
                dropped: [TraceContextError(header: "traceparent", reason: "the value is not a string")]
            )
        }
        if let problem = traceparentProblem(parent) {
            return Extraction(context: nil, dropped: [TraceContextError(header: "traceparent", reason: problem)])
        }
        var dropped: [TraceContextError] = []
        var state: String?
        if let tracestate {
            if let text = tracestate.stringValue {
                if let problem = tracestateProblem(text) {
                    dropped.append(TraceContextError(header: "tracestate", reason: problem))
                } else if !text.utf8.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == UInt8(ascii: ",") }) {
                    state = text
                }
            } else {
                dropped.append(TraceContextError(header: "tracestate", reason: "the value is not a string"))
            }
        }
        return Extraction(context: TraceContext(validTraceparent: parent, validTracestate: state), dropped: dropped)
    }

    // MARK: - traceparent

    /// Why `text` is not a valid `traceparent`, or `nil` when it is.
    public static func traceparentProblem(_ text: String) -> String? {
        var text = text
        return text.withUTF8 { traceparentProblem(UnsafeRawBufferPointer($0)) }
    }

    private static func traceparentProblem(_ bytes: UnsafeRawBufferPointer) -> String? {
        guard bytes.count >= 55 else { return "it has \(bytes.count) characters; version 00 has 55" }
        guard bytes.count <= maximumTraceparentLength else {
            return "it is longer than \(maximumTraceparentLength) characters"
        }
        guard isLowercaseHex(bytes, 0..<2) else { return "the version is not two lowercase hex digits" }
        let isVersion00 = bytes[0] == UInt8(ascii: "0") && bytes[1] == UInt8(ascii: "0")
        if bytes[0] == UInt8(ascii: "f") && bytes[1] == UInt8(ascii: "f") { return "version ff is invalid" }
        if isVersion00 && bytes.count != 55 { return "it has \(bytes.count) characters; version 00 has 55" }
        if !isVersion00 && bytes.count > 55 && bytes[55] != UInt8(ascii: "-") {
            return "a field after the flags does not start with \"-\""
        }
        for dash in [2, 35, 52] where bytes[dash] != UInt8(ascii: "-") {
            return "the fields are not separated by \"-\" at positions 2, 35 and 52"
        }
        guard isLowercaseHex(bytes, 3..<35) else { return "the trace id is not 32 lowercase hex digits" }
        guard isLowercaseHex(bytes, 36..<52) else { return "the parent id is not 16 lowercase hex digits" }
        guard isLowercaseHex(bytes, 53..<55) else { return "the flags are not two lowercase hex digits" }
        if bytes[3..<35].allSatisfy({ $0 == UInt8(ascii: "0") }) { return "the trace id is all zeros" }
        if bytes[36..<52].allSatisfy({ $0 == UInt8(ascii: "0") }) { return "the parent id is all zeros" }
        return nil
    }

    private static func isLowercaseHex(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
        bytes[range].allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    // MARK: - tracestate

    /// Why `text` is not a valid `tracestate`, or `nil` when it is.
    public static func tracestateProblem(_ text: String) -> String? {
        var keys: Set<Substring> = []
        var members = 0
        for rawMember in text.split(separator: ",", omittingEmptySubsequences: false) {
            let member = rawMember.trimmingOptionalWhitespace()
            if member.isEmpty { continue }
            members += 1
            guard members <= maximumTracestateMembers else {
                return "it has more than \(maximumTracestateMembers) list members"
            }
            guard let equals = member.firstIndex(of: "=") else { return "a list member has no \"=\"" }
            let key = member[..<equals]
            let value = member[member.index(after: equals)...]
            guard isValidKey(key.utf8) else { return "the key \"\(key.prefix(64))\" is invalid" }
            guard isValidValue(value.utf8) else { return "the value of \"\(key)\" is invalid" }
            guard keys.insert(key).inserted else { return "the key \"\(key)\" occurs twice" }
        }
        return nil
    }

    private static func isKeyCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "*"), UInt8(ascii: "/"):
            return true
        default:
            return false
        }
    }

    private static func isLowercaseLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
    }

    private static func isValidKey(_ key: Substring.UTF8View) -> Bool {
        if let at = key.firstIndex(of: UInt8(ascii: "@")) {
            let tenant = key[..<at]
            let system = key[key.index(after: at)...]
            guard let tenantFirst = tenant.first, let systemFirst = system.first else { return false }
            return tenant.count <= 241 && (isLowercaseLetter(tenantFirst) || (0x30...0x39).contains(tenantFirst))
                && tenant.allSatisfy(isKeyCharacter) && system.count <= 14 && isLowercaseLetter(systemFirst)
                && system.allSatisfy(isKeyCharacter)
        }
        guard let first = key.first else { return false }
        return key.count <= 256 && isLowercaseLetter(first) && key.allSatisfy(isKeyCharacter)
    }

    private static func isValidValue(_ value: Substring.UTF8View) -> Bool {
        guard let last = value.last, value.count <= 256, last != 0x20 else { return false }
        return value.allSatisfy { byte in
            (0x20...0x7E).contains(byte) && byte != UInt8(ascii: ",") && byte != UInt8(ascii: "=")
        }
    }

    // MARK: - Reading the headers

    private static func lookUp(in headers: JSONObject) -> (JSONValue?, JSONValue?) {
        (
            HeaderName.traceparent.lazy.compactMap { headers[$0] }.first,
            HeaderName.tracestate.lazy.compactMap { headers[$0] }.first
        )
    }

    /// The trace headers of a stored headers object, without building the other headers.
    private static func scan(_ object: UnsafeBufferPointer<UInt8>) throws(JSONParseError) -> (JSONValue?, JSONValue?) {
        var parser = JSONParser(bytes: object)
        if try parser.beginObject() { return (nil, nil) }
        // Index into HeaderName.traceparent / .tracestate: lower wins.
        var found: [(slot: Int, rank: Int, value: JSONValue)] = []
        repeat {
            let match: (slot: Int, rank: Int)? = try parser.readKey { key in
                if key.equals("traceparent") { return (0, 0) }
                if key.equals("__traceparent") { return (0, 1) }
                if key.equals("tracestate") { return (1, 0) }
                if key.equals("__tracestate") { return (1, 1) }
                return nil
            }
            if let match {
                found.append((match.slot, match.rank, try parser.parseValue(depth: 1)))
            } else {
                _ = try parser.skipValue()
            }
        } while try parser.nextMember()
        func best(_ slot: Int) -> JSONValue? {
            found.filter { $0.slot == slot }.min { $0.rank < $1.rank }?.value
        }
        return (best(0), best(1))
    }

    /// Whether `bytes` contain `needle`'s bytes: `memchr` to each candidate first byte (libc's
    /// vectorised scan), then `memcmp`. Runs for every message a transport sends.
    private static func contains(_ bytes: UnsafeBufferPointer<UInt8>, _ needle: StaticString) -> Bool {
        let count = needle.utf8CodeUnitCount
        guard let base = bytes.baseAddress, bytes.count >= count else { return false }
        let first = Int32(needle.utf8Start[0])
        var at = base
        let last = base + (bytes.count - count)
        while at <= last {
            guard let found = memchr(at, first, last - at + 1) else { return false }
            let candidate = UnsafePointer(found.assumingMemoryBound(to: UInt8.self))
            if memcmp(candidate, needle.utf8Start, count) == 0 { return true }
            at = candidate + 1
        }
        return false
    }
}

/// Why a trace-context header of a message was not forwarded.
public struct TraceContextError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `traceparent` or `tracestate`.
    public var header: String
    /// What is wrong with it.
    public var reason: String

    public init(header: String, reason: String) {
        self.header = header
        self.reason = reason
    }

    public var description: String { "invalid \(header): \(reason)" }
}

extension Substring {
    /// Without the spaces and tabs W3C list headers allow around members.
    fileprivate func trimmingOptionalWhitespace() -> Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result = result.dropFirst() }
        while let last = result.last, last == " " || last == "\t" { result = result.dropLast() }
        return result
    }
}
