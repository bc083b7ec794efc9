/// Reads EventSauce messages out of outbox rows.
///
/// Parses the `headers` member fully and only *checks* the `payload` member's syntax,
/// recording where it lies so transports can forward it without a copy. Accepts every
/// variant real databases hold: missing `__event_id` (an id is derived), `+0000` and `+00:00`
/// offsets, custom `__time_of_recording_format`s, `[]` payloads, escaped or raw UTF-8,
/// 64-bit integers and deep nesting.
public struct EnvelopeDecoder: Sendable {
    /// The table rows come from: part of derived event ids.
    public var table: String

    public init(table: String) {
        self.table = table
    }

    /// Decodes one row into its message.
    /// - Throws: ``EnvelopeDecodingError`` naming what is wrong with the row.
    public func decode(_ row: OutboxRow) throws(EnvelopeDecodingError) -> OutboxMessage {
        try decode(row, interner: nil)
    }

    /// Decodes one row, sharing repeated header values through `interner`.
    func decode(_ row: OutboxRow, interner: HeaderValueInterner?) throws(EnvelopeDecodingError) -> OutboxMessage {
        let bytes = row.payload
        let isJSONWhitespace = { (byte: UInt8) in byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 }
        guard let start = bytes.firstIndex(where: { !isJSONWhitespace($0) }) else {
            throw EnvelopeDecodingError(
                code: .emptyPayload,
                rowID: row.id,
                detail: "the payload column is empty (PHP stored a failed json_encode)"
            )
        }
        guard bytes[start] == UInt8(ascii: "{") else {
            let reason = JSONParseError(
                offset: start - bytes.startIndex,
                reason: "expected an object",
                isTruncated: false
            )
            throw EnvelopeDecodingError(
                code: .notAnObject,
                rowID: row.id,
                detail: "the payload column is not a JSON object (\(reason))"
            )
        }
        // The headers are only *checked* here, and their EventSauce (`__…`) members read:
        // custom headers are parsed when someone asks for `OutboxMessage.headers`.
        let parsed: (headers: Range<Int>?, known: KnownHeaders?, payload: Range<Int>?)
        do {
            parsed = try bytes.withUnsafeBufferPointer {
                (buffer) throws(JSONParseError) -> (Range<Int>?, KnownHeaders?, Range<Int>?) in
                var parser = JSONParser(bytes: buffer)
                var headers: Range<Int>?
                var known: KnownHeaders?
                var payload: Range<Int>?
                if try !parser.beginObject() {
                    repeat {
                        switch try parser.readKey(EnvelopeMember.init(key:)) {
                        case .headers:
                            if parser.peekByte() == UInt8(ascii: "{") {
                                let start = parser.offset
                                known = try KnownHeaders(parsing: &parser, interner: interner)
                                headers = start..<parser.offset
                            } else {
                                headers = try parser.skipValue()
                                known = nil
                            }
                        case .payload:
                            payload = try parser.skipValue()
                        case nil:
                            _ = try parser.skipValue()
                        }
                    } while try parser.nextMember()
                }
                try parser.expectEnd()
                return (headers, known, payload)
            }
        } catch {
            if error.isTruncated {
                throw EnvelopeDecodingError(
                    code: .truncatedJSON,
                    rowID: row.id,
                    detail: "the payload column holds truncated JSON (\(bytes.count) bytes; \(error))"
                )
            }
            throw EnvelopeDecodingError(
                code: .invalidJSON,
                rowID: row.id,
                detail: "the payload column is not valid JSON (\(error))"
            )
        }
        guard let headersRange = parsed.headers, let known = parsed.known else {
            throw EnvelopeDecodingError(
                code: .missingHeaders,
                rowID: row.id,
                detail: parsed.headers == nil
                    ? "the message has no \"headers\" object" : "\"headers\" is not a JSON object"
            )
        }
        guard let payloadRange = parsed.payload else {
            throw EnvelopeDecodingError(
                code: .missingPayload,
                rowID: row.id,
                detail: "the message has no \"payload\" member"
            )
        }
        let fields = try Self.readFields(known, rowID: row.id)
        let storedEventID = known.eventID
        let eventID: String
        let derived: Bool
        switch storedEventID {
        case .string(let value)?:
            eventID = value
            derived = false
        case nil, .null?:
            eventID = Self.derivedEventID(table: table, rowID: row.id)
            derived = true
        case let other?:
            eventID = other.textValue
            derived = false
        }
        return OutboxMessage(
            rowID: row.id,
            eventID: eventID,
            eventIDIsDerived: derived,
            eventType: fields.eventType,
            aggregateRootID: fields.aggregateRootID,
            aggregateRootIDType: fields.aggregateRootIDType,
            aggregateRootType: fields.aggregateRootType,
            aggregateRootVersion: fields.aggregateRootVersion,
            timeOfRecordingText: fields.timeOfRecordingText,
            timeOfRecording: fields.timeOfRecording,
            headersRange: headersRange,
            envelope: bytes,
            payloadRange: payloadRange
        )
    }

    /// The envelope members the decoder reads.
    private enum EnvelopeMember {
        case headers, payload

        init?(key: UnsafeRawBufferPointer) {
            if key.equals("headers") {
                self = .headers
            } else if key.equals("payload") {
                self = .payload
            } else {
                return nil
            }
        }
    }

    /// The event id used for a message stored without `__event_id`.
    ///
    /// A name-based UUID (version 5, RFC 9562) in the URL namespace over
    /// `outbox-relay:<table>:<row id>`: stable across restarts and relays, so receivers can
    /// deduplicate on it, and reproducible by anyone with the table name and row id.
    public static func derivedEventID(table: String, rowID: OutboxRowID) -> String {
        UUIDv5.make(namespace: UUIDv5.urlNamespace, name: "outbox-relay:\(table):\(rowID)")
    }

    struct Fields {
        var eventType: String
        var aggregateRootID: String?
        var aggregateRootIDType: String?
        var aggregateRootType: String?
        var aggregateRootVersion: Int64?
        var timeOfRecordingText: String?
        var timeOfRecording: Timestamp?
    }

    /// The EventSauce headers a message's typed fields come from, found in one pass
    /// (the last of duplicate keys wins, as in PHP).
    struct KnownHeaders {
        var eventType: JSONValue?
        var eventID: JSONValue?
        var aggregateRootID: JSONValue?
        var aggregateRootIDType: JSONValue?
        var aggregateRootType: JSONValue?
        var aggregateRootVersion: JSONValue?
        var timeOfRecording: JSONValue?
        var timeOfRecordingFormat: JSONValue?

        /// Reads the `__…` members of a headers object, skipping the others without building them.
        init(parsing parser: inout JSONParser, interner: HeaderValueInterner?) throws(JSONParseError) {
            if try parser.beginObject() { return }
            repeat {
                if parser.nextKeyHasPrefix("__") {
                    if let field = try parser.readKey(Field.init(key:)) {
                        if let interner, field.repeatsAcrossMessages, let text = parser.readPlainString() {
                            assign(.string(interner.string(text)), to: field)
                        } else {
                            assign(try parser.parseValue(depth: 2), to: field)
                        }
                    } else {
                        _ = try parser.skipValue()
                    }
                } else {
                    try parser.skipKey()
                    _ = try parser.skipValue()
                }
            } while try parser.nextMember()
        }

        /// The EventSauce headers the typed fields come from.
        enum Field {
            case eventType, eventID, aggregateRootID, aggregateRootIDType, aggregateRootType
            case aggregateRootVersion, timeOfRecording, timeOfRecordingFormat

            /// The header `key` names, if any.
            init?(key: UnsafeRawBufferPointer) {
                // Every candidate's length (and one byte where two share it) picks one name to compare.
                let candidate: (StaticString, Field)
                switch key.count {
                case 12: candidate = ("__event_type", .eventType)
                case 10: candidate = ("__event_id", .eventID)
                case 19:
                    candidate =
                        key[2] == UInt8(ascii: "a")
                        ? ("__aggregate_root_id", .aggregateRootID) : ("__time_of_recording", .timeOfRecording)
                case 24:
                    candidate =
                        key[17] == UInt8(ascii: "i")
                        ? ("__aggregate_root_id_type", .aggregateRootIDType)
                        : ("__aggregate_root_version", .aggregateRootVersion)
                case 21: candidate = ("__aggregate_root_type", .aggregateRootType)
                case 26: candidate = ("__time_of_recording_format", .timeOfRecordingFormat)
                default: return nil
                }
                guard key.equals(candidate.0) else { return nil }
                self = candidate.1
            }

            /// Event type, aggregate root id type, aggregate root type and time format: the
            /// same few values in every batch.
            var repeatsAcrossMessages: Bool {
                switch self {
                case .eventType, .aggregateRootIDType, .aggregateRootType, .timeOfRecordingFormat: true
                default: false
                }
            }
        }

        private mutating func assign(_ value: JSONValue, to field: Field) {
            switch field {
            case .eventType: eventType = value
            case .eventID: eventID = value
            case .aggregateRootID: aggregateRootID = value
            case .aggregateRootIDType: aggregateRootIDType = value
            case .aggregateRootType: aggregateRootType = value
            case .aggregateRootVersion: aggregateRootVersion = value
            case .timeOfRecording: timeOfRecording = value
            case .timeOfRecordingFormat: timeOfRecordingFormat = value
            }
        }

        init(_ headers: JSONObject) {
            for (key, value) in headers.members where key.utf8.first == UInt8(ascii: "_") {
                var key = key
                if let field = key.withUTF8({ Field(key: UnsafeRawBufferPointer($0)) }) {
                    assign(value, to: field)
                }
            }
        }
    }

    static func readFields(_ headers: JSONObject, rowID: OutboxRowID) throws(EnvelopeDecodingError) -> Fields {
        try readFields(KnownHeaders(headers), rowID: rowID)
    }

    static func readFields(_ known: KnownHeaders, rowID: OutboxRowID) throws(EnvelopeDecodingError) -> Fields {
        guard let typeValue = known.eventType else {
            throw EnvelopeDecodingError(
                code: .missingHeader,
                rowID: rowID,
                detail: "the message has no \(EventSauceHeader.eventType) header"
            )
        }
        guard case .string(let eventType) = typeValue, !eventType.isEmpty else {
            throw EnvelopeDecodingError(
                code: .invalidHeader,
                rowID: rowID,
                detail: "\(EventSauceHeader.eventType) must be a non-empty string"
            )
        }
        var version: Int64?
        if let value = known.aggregateRootVersion, value != .null {
            guard let number = value.int64Value else {
                throw EnvelopeDecodingError(
                    code: .invalidHeader,
                    rowID: rowID,
                    detail: "\(EventSauceHeader.aggregateRootVersion) must be an integer, found \(value.textValue)"
                )
            }
            version = number
        }
        let timeText = known.timeOfRecording?.stringValue
        let format = known.timeOfRecordingFormat?.stringValue ?? PHPDateFormat.eventSauceDefault
        return Fields(
            eventType: eventType,
            aggregateRootID: known.aggregateRootID.flatMap(Self.identifier),
            aggregateRootIDType: known.aggregateRootIDType?.stringValue,
            aggregateRootType: known.aggregateRootType?.stringValue,
            aggregateRootVersion: version,
            timeOfRecordingText: timeText,
            timeOfRecording: timeText.flatMap { PHPDateFormat(format).parse($0) }
        )
    }

    private static func identifier(_ value: JSONValue) -> String? {
        switch value {
        case .null: return nil
        case .string(let text): return text
        default: return value.textValue
        }
    }
}
