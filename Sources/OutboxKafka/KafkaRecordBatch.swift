/// A batch of messages turned into Kafka records, all bytes in one buffer, ready to hand to the
/// producer thread in one piece.
///
/// librdkafka reads the values straight from ``bytes`` (they are not copied), so the producer
/// keeps the batch until every message's delivery report arrived. Header names are stored
/// NUL-terminated.
struct KafkaRecordBatch: Sendable {
    struct Header: Sendable {
        /// The name's bytes; a NUL follows at `name.upperBound`.
        var name: Range<Int>
        var value: Range<Int>
    }

    struct Record: Sendable {
        /// Index into ``KafkaRecordBatch/topics``.
        var topic: Int
        var key: Range<Int>?
        var value: Range<Int>
        /// Range into ``KafkaRecordBatch/headers``.
        var headers: Range<Int>
    }

    var bytes = KafkaRecordBytes()
    var topics: [String] = []
    var headers: [Header] = []
    /// One per message of the delivered batch, in order; `nil` where the message failed before
    /// it could become a record.
    var records: [Record?] = []
    /// Results of the messages that failed before producing (index → result).
    var earlyResults: [Int: DeliveryResult] = [:]
    /// The delivered batch; ordering keys are computed from it only when something failed.
    var messages: [OutboxMessage] = []
    /// Trace-context headers of a message (by index) that were invalid and not forwarded.
    var droppedTraceContext: [(index: Int, errors: [TraceContextError])] = []

    var count: Int { records.count }
}

/// The bytes of a ``KafkaRecordBatch``: one allocation that grows while the batch is encoded
/// and stays put (and unchanged) afterwards, so librdkafka can point into it until the
/// batch's delivery reports arrived.
///
/// Written only by the task encoding the batch, read-only once the batch is handed over.
final class KafkaRecordBytes: @unchecked Sendable {
    private(set) var base: UnsafeMutableRawPointer
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int = 256) {
        self.capacity = max(capacity, 16)
        self.base = .allocate(byteCount: self.capacity, alignment: 16)
    }

    deinit {
        base.deallocate()
    }

    subscript(index: Int) -> UInt8 {
        precondition(index >= 0 && index < count, "index out of range")
        return base.load(fromByteOffset: index, as: UInt8.self)
    }

    subscript(range: Range<Int>) -> UnsafeRawBufferPointer {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "range out of bounds")
        return UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count)
    }

    /// Makes room for `extra` more bytes.
    func reserve(_ extra: Int) {
        guard count + extra > capacity else { return }
        var grown = capacity * 2
        while grown < count + extra { grown *= 2 }
        let moved = UnsafeMutableRawPointer.allocate(byteCount: grown, alignment: 16)
        moved.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = moved
        capacity = grown
    }

    /// Drops the bytes from `newCount` on.
    func truncate(to newCount: Int) {
        precondition(newCount >= 0 && newCount <= count, "count out of range")
        count = newCount
    }

    func append(_ byte: UInt8) {
        reserve(1)
        base.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        reserve(bytes.count)
        (base + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }

    func append(_ bytes: ArraySlice<UInt8>) {
        bytes.withUnsafeBytes { append($0) }
    }

    func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    func append(_ text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    func append(_ text: String) {
        let copied: Void? = text.utf8.withContiguousStorageIfAvailable { append(UnsafeRawBufferPointer($0)) }
        if copied == nil {
            for byte in text.utf8 { append(byte) }
        }
    }

    /// Appends stored UTF-8 as a `String` of it would read: ASCII as it is, anything else
    /// through `String` (invalid sequences repaired).
    func appendText(_ utf8: UnsafeRawBufferPointer) {
        if utf8.allSatisfy({ $0 < 0x80 }) {
            append(utf8)
        } else {
            append(String(decoding: utf8, as: UTF8.self))
        }
    }

    /// Appends `value` in decimal, as `String(value)` reads.
    func appendDecimal(_ value: Int64) {
        let sign = value < 0 ? 1 : 0
        let digits = Self.decimalDigitCount(value.magnitude)
        reserve(sign + digits)
        if sign == 1 { base.storeBytes(of: UInt8(ascii: "-"), toByteOffset: count, as: UInt8.self) }
        storeDigits(value.magnitude, width: digits, at: count + sign)
        count += sign + digits
    }

    /// Appends `time` as RFC 3339 UTC with microseconds (`2024-03-14T05:04:50.163498Z`), the
    /// same text as ``Timestamp/rfc3339``: one reservation, digits stored in place.
    func appendRFC3339(_ time: Timestamp) {
        let c = time.utcComponents
        let sign = c.year < 0 ? 1 : 0
        let yearWidth = max(4, Self.decimalDigitCount(c.year.magnitude))
        // [-]YYYY-MM-DDThh:mm:ss.ffffffZ
        let length = sign + yearWidth + 23
        reserve(length)
        var at = count
        if sign == 1 { base.storeBytes(of: UInt8(ascii: "-"), toByteOffset: at, as: UInt8.self) }
        at += sign
        storeDigits(c.year.magnitude, width: yearWidth, at: at)
        at += yearWidth
        store(UInt8(ascii: "-"), UInt64(c.month), width: 2, at: &at)
        store(UInt8(ascii: "-"), UInt64(c.day), width: 2, at: &at)
        store(UInt8(ascii: "T"), UInt64(c.hour), width: 2, at: &at)
        store(UInt8(ascii: ":"), UInt64(c.minute), width: 2, at: &at)
        store(UInt8(ascii: ":"), UInt64(c.second), width: 2, at: &at)
        store(UInt8(ascii: "."), UInt64(c.microsecond), width: 6, at: &at)
        base.storeBytes(of: UInt8(ascii: "Z"), toByteOffset: at, as: UInt8.self)
        count += length
    }

    /// Stores `separator`, then `value` zero-padded to `width` digits, at `offset` (reserved by
    /// the caller), and moves `offset` past them.
    @inline(__always)
    private func store(_ separator: UInt8, _ value: UInt64, width: Int, at offset: inout Int) {
        base.storeBytes(of: separator, toByteOffset: offset, as: UInt8.self)
        storeDigits(value, width: width, at: offset + 1)
        offset += 1 + width
    }

    /// Stores the last `width` decimal digits of `value` (zero-padded) at `offset`, which the
    /// caller reserved.
    @inline(__always)
    private func storeDigits(_ value: UInt64, width: Int, at offset: Int) {
        var rest = value
        var position = offset + width
        while position > offset {
            position -= 1
            base.storeBytes(
                of: UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10),
                toByteOffset: position,
                as: UInt8.self
            )
            rest /= 10
        }
    }

    private static func decimalDigitCount(_ value: UInt64) -> Int {
        var digits = 1
        var rest = value
        while rest >= 10 {
            rest /= 10
            digits += 1
        }
        return digits
    }
}

/// Turns ``OutboxMessage``s into ``KafkaRecordBatch``es according to a configuration.
struct KafkaRecordEncoder: Sendable {
    let topic: KafkaMessageTemplate
    let key: KafkaMessageTemplate
    let configuration: KafkaTransport.Configuration
    private let fixedHeaders: [(String, String)]
    /// The topic when the template has no placeholders, checked once.
    private let fixedTopic: String?
    private let forwardsCustomHeaders: Bool

    /// - Throws: ``KafkaTransportError`` when a template is invalid.
    init(configuration: KafkaTransport.Configuration) throws(KafkaTransportError) {
        self.configuration = configuration
        self.topic = try KafkaMessageTemplate(configuration.topic, purpose: .topic)
        self.key = try KafkaMessageTemplate(configuration.key, purpose: .key)
        self.fixedHeaders = configuration.headers.fixed.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        self.fixedTopic = topic.fixedText
        self.forwardsCustomHeaders = configuration.headers.forwardsCustomHeaders(with: configuration.valueFormat)
        for (name, _) in fixedHeaders where name.utf8.contains(0) {
            throw KafkaTransportError(
                code: .invalidConfiguration,
                message: "the header name \"\(name)\" contains a NUL character",
                setting: "headers"
            )
        }
    }

    func encode(_ messages: [OutboxMessage]) -> KafkaRecordBatch {
        var batch = KafkaRecordBatch()
        batch.messages = messages
        batch.bytes.reserve(messages.reduce(0) { $0 + $1.envelope.count + 512 })
        batch.records.reserveCapacity(messages.count)
        batch.headers.reserveCapacity(messages.count * 10)
        var topicIndex: [String: Int?] = [:]
        let validFixedTopic = fixedTopic.flatMap { KafkaMessageTemplate.isValidTopic($0) ? $0 : nil }
        if let validFixedTopic { batch.topics.append(validFixedTopic) }
        for index in messages.indices {
            // Passed borrowed: no copy (and no retain of every field) per message.
            appendRecord(
                messages[index],
                index: index,
                hasFixedTopic: validFixedTopic != nil,
                topicIndex: &topicIndex,
                to: &batch
            )
        }
        return batch
    }

    private func appendRecord(
        _ message: OutboxMessage,
        index: Int,
        hasFixedTopic: Bool,
        topicIndex: inout [String: Int?],
        to batch: inout KafkaRecordBatch
    ) {
        let topicNumber: Int
        if hasFixedTopic {
            topicNumber = 0
        } else {
            let topicName = topic.render(message)
            if let known = topicIndex[topicName] {
                guard let known else {
                    batch.records.append(nil)
                    batch.earlyResults[index] = invalidTopic(topicName)
                    return
                }
                topicNumber = known
            } else if KafkaMessageTemplate.isValidTopic(topicName) {
                topicNumber = batch.topics.count
                topicIndex[topicName] = topicNumber
                batch.topics.append(topicName)
            } else {
                topicIndex[topicName] = .some(nil)
                batch.records.append(nil)
                batch.earlyResults[index] = invalidTopic(topicName)
                return
            }
        }
        let keyStart = batch.bytes.count
        if let field = key.singleField {
            // No String built: the field's bytes go straight into the batch.
            batch.bytes.append(KafkaMessageTemplate.value(of: field, in: message))
        } else {
            batch.bytes.append(key.render(message))
        }
        let keyRange: Range<Int>? = batch.bytes.count == keyStart ? nil : keyStart..<batch.bytes.count
        let valueStart = batch.bytes.count
        switch configuration.valueFormat {
        case .envelope: batch.bytes.append(message.envelope)
        case .payload, .cloudEvents: batch.bytes.append(message.payloadBytes)
        }
        let valueRange = valueStart..<batch.bytes.count
        let headerStart = batch.headers.count
        appendHeaders(of: message, index: index, to: &batch)
        batch.records.append(
            .init(topic: topicNumber, key: keyRange, value: valueRange, headers: headerStart..<batch.headers.count)
        )
    }

    private func invalidTopic(_ name: String) -> DeliveryResult {
        .permanent(
            "the topic template \"\(configuration.topic)\" renders \"\(name)\" for this message, "
                + "which is not a valid Kafka topic name"
        )
    }

    private func appendHeaders(of message: OutboxMessage, index: Int, to batch: inout KafkaRecordBatch) {
        if configuration.valueFormat == .cloudEvents {
            batch.appendHeader("ce_specversion", "1.0" as StaticString)
            batch.appendHeader("ce_id", message.eventID)
            batch.appendHeader("ce_source", configuration.cloudEvents.source)
            batch.appendHeader("ce_type", message.eventType)
            if let time = message.timeOfRecording { batch.appendHeader("ce_time", rfc3339: time) }
            if let subject = message.aggregateRootID { batch.appendHeader("ce_subject", subject) }
            batch.appendHeader("content-type", "application/json" as StaticString)
        }
        let headers = configuration.headers
        if headers.standard {
            batch.appendHeader("event_id", message.eventID)
            batch.appendHeader("event_type", message.eventType)
            if let value = message.aggregateRootID { batch.appendHeader("aggregate_root_id", value) }
            if let value = message.aggregateRootIDType { batch.appendHeader("aggregate_root_id_type", value) }
            if let value = message.aggregateRootType { batch.appendHeader("aggregate_root_type", value) }
            if let value = message.aggregateRootVersion { batch.appendHeader("aggregate_root_version", decimal: value) }
            if let time = message.timeOfRecording {
                batch.appendHeader("time_of_recording", rfc3339: time)
            } else if let text = message.timeOfRecordingText {
                batch.appendHeader("time_of_recording", text)
            }
        }
        if forwardsCustomHeaders {
            if let range = message.headersRange, batch.appendCustomHeaders(scanning: message.envelope, range) {
                // Scanned from the stored bytes, without parsing every header.
            } else {
                for member in message.headers.members where Self.isForwarded(member.key.utf8) {
                    batch.appendHeader(named: member.key, member.value.textValue)
                }
            }
        }
        for (name, value) in fixedHeaders {
            batch.appendHeader(named: name, value)
        }
        appendTraceContext(of: message, index: index, to: &batch)
    }

    /// The message's W3C trace context, validated (``TraceContext``), as `traceparent` and
    /// `tracestate` headers, and with ``Configuration/ValueFormat/cloudEvents`` also as the
    /// distributed-tracing extension attributes `ce_traceparent` and `ce_tracestate`.
    /// What was dropped is kept in ``KafkaRecordBatch/droppedTraceContext`` for the log.
    private func appendTraceContext(of message: OutboxMessage, index: Int, to batch: inout KafkaRecordBatch) {
        let extraction = TraceContext.extract(from: message)
        if !extraction.dropped.isEmpty { batch.droppedTraceContext.append((index, extraction.dropped)) }
        guard let context = extraction.context else { return }
        batch.appendHeader("traceparent", context.traceparent)
        if let state = context.tracestate { batch.appendHeader("tracestate", state) }
        if configuration.valueFormat == .cloudEvents {
            batch.appendHeader("ce_traceparent", context.traceparent)
            if let state = context.tracestate { batch.appendHeader("ce_tracestate", state) }
        }
    }

    /// Whether a custom header goes out: not an EventSauce `__…` header, no NUL in the name, and
    /// not `traceparent` or `tracestate` (those go out validated, see ``TraceContext``).
    static func isForwarded(_ name: some Collection<UInt8>) -> Bool {
        if name.count >= 2 && name.first == UInt8(ascii: "_") && name.dropFirst().first == UInt8(ascii: "_") {
            return false
        }
        if name.first == UInt8(ascii: "t"), name.count == 10 || name.count == 11,
            name.elementsEqual("traceparent".utf8) || name.elementsEqual("tracestate".utf8)
        {
            return false
        }
        return !name.contains(0)
    }
}

extension KafkaRecordBatch {
    /// A header whose name is not a literal (fixed headers from the configuration, custom
    /// headers read through ``OutboxMessage/headers``). Literal names take the `StaticString`
    /// overloads: their bytes are copied without going through `String`.
    mutating func appendHeader(named name: String, _ value: String) {
        let nameStart = bytes.count
        bytes.append(name)
        appendHeader(nameFrom: nameStart) { $0.bytes.append(value) }
    }

    mutating func appendHeader(_ name: StaticString, _ value: String) {
        let nameStart = bytes.count
        bytes.append(name)
        appendHeader(nameFrom: nameStart) { $0.bytes.append(value) }
    }

    mutating func appendHeader(_ name: StaticString, _ value: StaticString) {
        let nameStart = bytes.count
        bytes.append(name)
        appendHeader(nameFrom: nameStart) { $0.bytes.append(value) }
    }

    mutating func appendHeader(_ name: StaticString, decimal value: Int64) {
        let nameStart = bytes.count
        bytes.append(name)
        appendHeader(nameFrom: nameStart) { $0.bytes.appendDecimal(value) }
    }

    /// Appends `time` as RFC 3339 UTC with microseconds (`2024-03-14T05:04:50.163498Z`),
    /// the same text as ``Timestamp/rfc3339``, without intermediate strings.
    mutating func appendHeader(_ name: StaticString, rfc3339 time: Timestamp) {
        let nameStart = bytes.count
        bytes.append(name)
        appendHeader(nameFrom: nameStart) { $0.bytes.appendRFC3339(time) }
    }

    /// Appends the members of the stored headers object `envelope[range]` that
    /// ``KafkaRecordEncoder/isForwarded(_:)`` lets through, with the same names and values as
    /// reading them from ``OutboxMessage/headers`` would give: plain ASCII strings are copied as
    /// stored, other strings go through `String` (which repairs invalid UTF-8), anything else
    /// is rendered as ``JSONValue/textValue``. Returns `false`, having appended nothing, if the
    /// bytes do not parse (the caller then reads ``OutboxMessage/headers``).
    mutating func appendCustomHeaders(scanning envelope: [UInt8], _ range: Range<Int>) -> Bool {
        let byteCount = bytes.count
        let headerCount = headers.count
        let scanned: Bool = envelope.withUnsafeBufferPointer { buffer in
            guard range.lowerBound >= 0, range.upperBound <= buffer.count else { return false }
            return (try? appendCustomHeaders(UnsafeBufferPointer(rebasing: buffer[range]))) != nil
        }
        if !scanned {
            bytes.truncate(to: byteCount)
            headers.removeSubrange(headerCount...)
        }
        return scanned
    }

    private mutating func appendCustomHeaders(_ object: UnsafeBufferPointer<UInt8>) throws(JSONParseError) {
        var parser = JSONParser(bytes: object)
        if try parser.beginObject() { return }
        let bytes = self.bytes
        repeat {
            // The key's bytes go straight into the batch, unless the header is not forwarded.
            let nameStart = bytes.count
            let forwarded = try parser.readKey { key in
                guard KafkaRecordEncoder.isForwarded(key) else { return false }
                bytes.appendText(key)
                return true
            }
            guard forwarded else {
                _ = try parser.skipValue()
                continue
            }
            let plain = parser.readPlainString()
            let rendered = plain == nil ? try parser.parseValue(depth: 1).textValue : nil
            appendHeader(nameFrom: nameStart) { batch in
                if let plain { batch.bytes.appendText(plain) } else if let rendered { batch.bytes.append(rendered) }
            }
        } while try parser.nextMember()
    }

    /// Ends a header whose name was appended from `nameStart` on: a NUL after the name, then
    /// the value `appendValue` appends.
    @inline(__always)
    private mutating func appendHeader(nameFrom nameStart: Int, _ appendValue: (inout KafkaRecordBatch) -> Void) {
        let name = nameStart..<bytes.count
        bytes.append(0)
        let valueStart = bytes.count
        appendValue(&self)
        headers.append(Header(name: name, value: valueStart..<bytes.count))
    }
}
