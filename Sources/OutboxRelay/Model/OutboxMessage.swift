import Synchronization

/// One EventSauce message read from an outbox row, ready to route and deliver.
///
/// ``envelope`` holds the bytes to forward: the stored `payload` column for a row that maps to
/// one message, or a re-encoded envelope for messages an ``MessageExpander`` built.
/// The typed fields are read from the EventSauce headers (`__event_type`, `__event_id`, …).
public struct OutboxMessage: Sendable {
    /// The fields live in one copy-on-write box: messages are copied into every destination's
    /// batch, and one reference is cheaper to copy than a dozen.
    private final class Storage: @unchecked Sendable {
        /// Parsed headers; for decoded messages parsed from `envelope[headersRange]` on first use.
        private let headerCache: Mutex<JSONObject?>
        /// Where the headers lie in `envelope`; `nil` once headers or envelope were replaced.
        private(set) var headersRange: Range<Int>?
        var rowID: OutboxRowID
        var eventID: String
        var eventIDIsDerived: Bool
        var eventType: String
        var aggregateRootID: String?
        var aggregateRootIDType: String?
        var aggregateRootType: String?
        var aggregateRootVersion: Int64?
        var timeOfRecordingText: String?
        var timeOfRecording: Timestamp?
        var envelope: [UInt8] {
            didSet { headersRange = nil }
        }
        var payloadRange: Range<Int>

        init(
            rowID: OutboxRowID,
            eventID: String,
            eventIDIsDerived: Bool,
            eventType: String,
            aggregateRootID: String?,
            aggregateRootIDType: String?,
            aggregateRootType: String?,
            aggregateRootVersion: Int64?,
            timeOfRecordingText: String?,
            timeOfRecording: Timestamp?,
            headers: JSONObject?,
            headersRange: Range<Int>? = nil,
            envelope: [UInt8],
            payloadRange: Range<Int>
        ) {
            self.rowID = rowID
            self.eventID = eventID
            self.eventIDIsDerived = eventIDIsDerived
            self.eventType = eventType
            self.aggregateRootID = aggregateRootID
            self.aggregateRootIDType = aggregateRootIDType
            self.aggregateRootType = aggregateRootType
            self.aggregateRootVersion = aggregateRootVersion
            self.timeOfRecordingText = timeOfRecordingText
            self.timeOfRecording = timeOfRecording
            self.headerCache = Mutex(headers)
            self.headersRange = headersRange
            self.envelope = envelope
            self.payloadRange = payloadRange
        }

        /// Every header; parsed once, on first use, for decoded messages.
        var headers: JSONObject {
            get {
                headerCache.withLock { cached in
                    if let cached { return cached }
                    var parsed = JSONObject()
                    if let headersRange, let value = try? JSONParser.parse(envelope[headersRange]).objectValue {
                        parsed = value
                    }
                    cached = parsed
                    return parsed
                }
            }
            set {
                headerCache.withLock { $0 = newValue }
                headersRange = nil
            }
        }

        func copy() -> Storage {
            Storage(
                rowID: rowID,
                eventID: eventID,
                eventIDIsDerived: eventIDIsDerived,
                eventType: eventType,
                aggregateRootID: aggregateRootID,
                aggregateRootIDType: aggregateRootIDType,
                aggregateRootType: aggregateRootType,
                aggregateRootVersion: aggregateRootVersion,
                timeOfRecordingText: timeOfRecordingText,
                timeOfRecording: timeOfRecording,
                headers: headers,
                headersRange: headersRange,
                envelope: envelope,
                payloadRange: payloadRange
            )
        }
    }

    private var storage: Storage

    private mutating func uniqueStorage() -> Storage {
        if !isKnownUniquelyReferenced(&storage) {
            storage = storage.copy()
        } else {
            _ = storage.headers  // parse before the envelope they come from can change
        }
        return storage
    }

    /// The outbox row this message came from.
    public var rowID: OutboxRowID {
        get { storage.rowID }
        set { uniqueStorage().rowID = newValue }
    }

    /// `__event_id`, or an id derived from (table, row id) when the row has none;
    /// see ``EnvelopeDecoder/derivedEventID(table:rowID:)``.
    public var eventID: String {
        get { storage.eventID }
        set { uniqueStorage().eventID = newValue }
    }

    /// Whether ``eventID`` was derived because the stored message has no `__event_id`.
    public var eventIDIsDerived: Bool {
        get { storage.eventIDIsDerived }
        set { uniqueStorage().eventIDIsDerived = newValue }
    }

    /// `__event_type`: opaque, usually the dot-separated snake case of the PHP class.
    public var eventType: String {
        get { storage.eventType }
        set { uniqueStorage().eventType = newValue }
    }

    /// `__aggregate_root_id`, the ordering key.
    public var aggregateRootID: String? {
        get { storage.aggregateRootID }
        set { uniqueStorage().aggregateRootID = newValue }
    }

    /// `__aggregate_root_id_type`.
    public var aggregateRootIDType: String? {
        get { storage.aggregateRootIDType }
        set { uniqueStorage().aggregateRootIDType = newValue }
    }

    /// `__aggregate_root_type` (EventSauce 1.2 and later).
    public var aggregateRootType: String? {
        get { storage.aggregateRootType }
        set { uniqueStorage().aggregateRootType = newValue }
    }

    /// `__aggregate_root_version`, 1-based.
    public var aggregateRootVersion: Int64? {
        get { storage.aggregateRootVersion }
        set { uniqueStorage().aggregateRootVersion = newValue }
    }

    /// `__time_of_recording` as written.
    public var timeOfRecordingText: String? {
        get { storage.timeOfRecordingText }
        set { uniqueStorage().timeOfRecordingText = newValue }
    }

    /// `__time_of_recording` parsed with `__time_of_recording_format` (or PHP's default
    /// `Y-m-d H:i:s.uO`), `nil` when absent or unparseable.
    public var timeOfRecording: Timestamp? {
        get { storage.timeOfRecording }
        set { uniqueStorage().timeOfRecording = newValue }
    }

    /// Every header, in stored order, including custom ones.
    public var headers: JSONObject {
        get { storage.headers }
        set { uniqueStorage().headers = newValue }
    }

    /// Where the stored `headers` object lies in ``envelope``, for a message decoded from a row
    /// whose headers and envelope were not replaced since; `nil` otherwise (then read
    /// ``headers``). A transport that needs only some headers can scan this range with
    /// ``JSONParser`` instead of reading ``headers``, which builds and keeps every header.
    public var headersRange: Range<Int>? { storage.headersRange }

    /// The bytes to forward: `{"headers":{…},"payload":…}`.
    public var envelope: [UInt8] {
        get { storage.envelope }
        set { uniqueStorage().envelope = newValue }
    }

    /// Where the inner `payload` value lies in ``envelope``.
    public var payloadRange: Range<Int> {
        get { storage.payloadRange }
        set { uniqueStorage().payloadRange = newValue }
    }

    public init(
        rowID: OutboxRowID,
        eventID: String,
        eventIDIsDerived: Bool = false,
        eventType: String,
        aggregateRootID: String?,
        aggregateRootIDType: String? = nil,
        aggregateRootType: String? = nil,
        aggregateRootVersion: Int64?,
        timeOfRecordingText: String? = nil,
        timeOfRecording: Timestamp? = nil,
        headers: JSONObject,
        envelope: [UInt8],
        payloadRange: Range<Int>
    ) {
        self.storage = Storage(
            rowID: rowID,
            eventID: eventID,
            eventIDIsDerived: eventIDIsDerived,
            eventType: eventType,
            aggregateRootID: aggregateRootID,
            aggregateRootIDType: aggregateRootIDType,
            aggregateRootType: aggregateRootType,
            aggregateRootVersion: aggregateRootVersion,
            timeOfRecordingText: timeOfRecordingText,
            timeOfRecording: timeOfRecording,
            headers: headers,
            envelope: envelope,
            payloadRange: payloadRange
        )
    }

    /// A decoded message whose headers are parsed from `envelope[headersRange]` on first use.
    init(
        rowID: OutboxRowID,
        eventID: String,
        eventIDIsDerived: Bool,
        eventType: String,
        aggregateRootID: String?,
        aggregateRootIDType: String?,
        aggregateRootType: String?,
        aggregateRootVersion: Int64?,
        timeOfRecordingText: String?,
        timeOfRecording: Timestamp?,
        headersRange: Range<Int>,
        envelope: [UInt8],
        payloadRange: Range<Int>
    ) {
        self.storage = Storage(
            rowID: rowID,
            eventID: eventID,
            eventIDIsDerived: eventIDIsDerived,
            eventType: eventType,
            aggregateRootID: aggregateRootID,
            aggregateRootIDType: aggregateRootIDType,
            aggregateRootType: aggregateRootType,
            aggregateRootVersion: aggregateRootVersion,
            timeOfRecordingText: timeOfRecordingText,
            timeOfRecording: timeOfRecording,
            headers: nil,
            headersRange: headersRange,
            envelope: envelope,
            payloadRange: payloadRange
        )
    }

    /// The inner `payload` value's bytes, as stored.
    public var payloadBytes: ArraySlice<UInt8> { envelope[payloadRange] }

    /// The inner payload, parsed.
    /// - Throws: ``JSONParseError`` (cannot happen for messages the decoder produced).
    public func payload() throws -> JSONValue {
        try JSONParser.parse(payloadBytes)
    }

    /// The key that orders delivery: messages with the same key reach each destination in
    /// outbox order. The aggregate root id (qualified by its type, when known), or the event
    /// id for messages of no aggregate.
    public var orderingKey: String {
        guard let aggregateRootID else { return "event:" + eventID }
        return (aggregateRootType ?? aggregateRootIDType ?? "") + "/" + aggregateRootID
    }

    /// Builds a message from headers and a payload value, encoding a fresh envelope the way
    /// PHP's `json_encode` does by default. Expanders use this to emit new messages.
    ///
    /// Typed fields are read from `headers` (`__event_type`, `__event_id`, …).
    /// - Throws: ``EnvelopeDecodingError`` when `headers` lack `__event_type` or `__event_id`.
    public init(rowID: OutboxRowID, headers: JSONObject, payload: JSONValue) throws(EnvelopeDecodingError) {
        var envelope: [UInt8] = []
        envelope.append(contentsOf: #"{"headers":"#.utf8)
        JSONWriter.write(.object(headers), to: &envelope)
        envelope.append(contentsOf: #","payload":"#.utf8)
        let start = envelope.count
        JSONWriter.write(payload, to: &envelope)
        let end = envelope.count
        envelope.append(UInt8(ascii: "}"))
        guard let eventID = headers[EventSauceHeader.eventID]?.stringValue else {
            throw EnvelopeDecodingError(
                code: .missingHeader,
                rowID: rowID,
                detail: "the message has no \(EventSauceHeader.eventID) header"
            )
        }
        let fields = try EnvelopeDecoder.readFields(headers, rowID: rowID)
        self.init(
            rowID: rowID,
            eventID: eventID,
            eventType: fields.eventType,
            aggregateRootID: fields.aggregateRootID,
            aggregateRootIDType: fields.aggregateRootIDType,
            aggregateRootType: fields.aggregateRootType,
            aggregateRootVersion: fields.aggregateRootVersion,
            timeOfRecordingText: fields.timeOfRecordingText,
            timeOfRecording: fields.timeOfRecording,
            headers: headers,
            envelope: envelope,
            payloadRange: start..<end
        )
    }
}

/// The header names EventSauce writes.
public enum EventSauceHeader {
    public static let eventType = "__event_type"
    public static let eventID = "__event_id"
    public static let aggregateRootID = "__aggregate_root_id"
    public static let aggregateRootIDType = "__aggregate_root_id_type"
    public static let aggregateRootType = "__aggregate_root_type"
    public static let aggregateRootVersion = "__aggregate_root_version"
    public static let timeOfRecording = "__time_of_recording"
    public static let timeOfRecordingFormat = "__time_of_recording_format"
}
