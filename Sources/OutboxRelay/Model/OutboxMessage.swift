/// One EventSauce message read from an outbox row, ready to route and deliver.
///
/// ``envelope`` holds the bytes to forward: the stored `payload` column for a row that maps to
/// one message, or a re-encoded envelope for messages an ``MessageExpander`` built.
/// The typed fields are read from the EventSauce headers (`__event_type`, `__event_id`, …).
public struct OutboxMessage: Sendable {
    /// The outbox row this message came from.
    public var rowID: OutboxRowID
    /// `__event_id`, or an id derived from (table, row id) when the row has none;
    /// see ``EnvelopeDecoder/derivedEventID(table:rowID:)``.
    public var eventID: String
    /// Whether ``eventID`` was derived because the stored message has no `__event_id`.
    public var eventIDIsDerived: Bool
    /// `__event_type`: opaque, usually the dot-separated snake case of the PHP class.
    public var eventType: String
    /// `__aggregate_root_id`, the ordering key.
    public var aggregateRootID: String?
    /// `__aggregate_root_id_type`.
    public var aggregateRootIDType: String?
    /// `__aggregate_root_type` (EventSauce 1.2 and later).
    public var aggregateRootType: String?
    /// `__aggregate_root_version`, 1-based.
    public var aggregateRootVersion: Int64?
    /// `__time_of_recording` as written.
    public var timeOfRecordingText: String?
    /// `__time_of_recording` parsed with `__time_of_recording_format` (or PHP's default
    /// `Y-m-d H:i:s.uO`), `nil` when absent or unparseable.
    public var timeOfRecording: Timestamp?
    /// Every header, in stored order, including custom ones.
    public var headers: JSONObject
    /// The bytes to forward: `{"headers":{…},"payload":…}`.
    public var envelope: [UInt8]
    /// Where the inner `payload` value lies in ``envelope``.
    public var payloadRange: Range<Int>

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
        self.headers = headers
        self.envelope = envelope
        self.payloadRange = payloadRange
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
            throw EnvelopeDecodingError(code: .missingHeader, rowID: rowID, detail: "the message has no \(EventSauceHeader.eventID) header")
        }
        let fields = try EnvelopeDecoder.readFields(headers, rowID: rowID)
        self.init(
            rowID: rowID, eventID: eventID, eventType: fields.eventType,
            aggregateRootID: fields.aggregateRootID, aggregateRootIDType: fields.aggregateRootIDType,
            aggregateRootType: fields.aggregateRootType, aggregateRootVersion: fields.aggregateRootVersion,
            timeOfRecordingText: fields.timeOfRecordingText, timeOfRecording: fields.timeOfRecording,
            headers: headers, envelope: envelope, payloadRange: start..<end
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
