import OutboxRelay
import Testing

@Suite("EnvelopeDecoder")
struct EnvelopeDecoderTests {
    let decoder = EnvelopeDecoder(table: "outbox_messages")

    static let headers =
        #""__event_type":"acme.shop.orders.order_was_placed","__event_id":"25c29fdd-f0cf-4112-a421-9e1bfc3b78dd","#
        + #""__aggregate_root_id":"b230fe0e-6e36-47cc-85ea-c50eb21ec363","#
        + #""__aggregate_root_id_type":"acme.shop.orders.order_id","#
        + #""__aggregate_root_type":"acme.shop.orders.order","__aggregate_root_version":7,"#
        + #""__time_of_recording":"2024-03-14 05:04:50.163498+0000""#

    static func row(_ text: String, id: Int64 = 1) -> OutboxRow {
        OutboxRow(id: .integer(id), payload: Array(text.utf8))
    }

    static func envelope(headers: String = headers, payload: String = #"{"a":1}"#) -> String {
        #"{"headers":{"# + headers + #"},"payload":"# + payload + "}"
    }

    func failure(_ text: String, id: Int64 = 1) -> EnvelopeDecodingError? {
        failure(Self.row(text, id: id))
    }

    func failure(_ row: OutboxRow) -> EnvelopeDecodingError? {
        do {
            let message = try decoder.decode(row)
            Issue.record("expected a decoding error, decoded \(message.eventType)")
            return nil
        } catch {
            return error
        }
    }

    // MARK: Headers

    @Test("a complete message fills every typed field")
    func completeMessage() throws {
        let text = Self.envelope(payload: #"{"order_id":"o-1","total_cents":1299}"#)
        let message = try decoder.decode(Self.row(text, id: 9))
        #expect(message.rowID == .integer(9))
        #expect(message.eventType == "acme.shop.orders.order_was_placed")
        #expect(message.eventID == "25c29fdd-f0cf-4112-a421-9e1bfc3b78dd")
        #expect(!message.eventIDIsDerived)
        #expect(message.aggregateRootID == "b230fe0e-6e36-47cc-85ea-c50eb21ec363")
        #expect(message.aggregateRootIDType == "acme.shop.orders.order_id")
        #expect(message.aggregateRootType == "acme.shop.orders.order")
        #expect(message.aggregateRootVersion == 7)
        #expect(message.timeOfRecordingText == "2024-03-14 05:04:50.163498+0000")
        // 2024-03-14T05:04:50.163498Z = 1710392690.163498 s (date -u -d @1710392690).
        #expect(message.timeOfRecording == Timestamp(microsecondsSinceEpoch: 1_710_392_690_163_498))
        #expect(message.envelope == Array(text.utf8))
        #expect(message.headers.count == 7)
        #expect(message.orderingKey == "acme.shop.orders.order/b230fe0e-6e36-47cc-85ea-c50eb21ec363")
        #expect(try message.payload() == .object(["order_id": .string("o-1"), "total_cents": .number("1299")]))
    }

    @Test("a U time beyond Timestamp's range is kept as text, not a trap (issue 11)")
    func overflowingUnixTime() throws {
        let headers =
            #""__event_type":"a.b","__time_of_recording_format":"U","__time_of_recording":"99999999999999999""#
        let message = try decoder.decode(Self.row(Self.envelope(headers: headers)))
        #expect(message.timeOfRecording == nil)
        #expect(message.timeOfRecordingText == "99999999999999999")
    }

    @Test("a payload nested 100000 levels deep is a decoding error, not a stack overflow")
    func deeplyNestedPayload() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let headers = #""__event_type":"a.b""#
        #expect(failure(Self.envelope(headers: headers, payload: deep)) != nil)
        let deepHeader = #""__event_type":"a.b","x":"# + deep
        #expect(failure(Self.envelope(headers: deepHeader)) != nil)
    }

    @Test("a missing __event_id gives a stable UUIDv5 equal to Python's uuid5(NAMESPACE_URL, …)")
    func derivedEventID() throws {
        // python3 -c 'import uuid; print(uuid.uuid5(uuid.NAMESPACE_URL, "outbox-relay:outbox_messages:42"))'
        let expected = "f5d13ff5-7d80-51dc-8d12-83ecd1284137"
        let text =
            #"{"headers":{"__event_type":"acme.shop.orders.order_was_placed","#
            + #""__aggregate_root_version":1},"payload":[]}"#
        let first = try decoder.decode(Self.row(text, id: 42))
        let second = try EnvelopeDecoder(table: "outbox_messages").decode(Self.row(text, id: 42))
        #expect(first.eventID == expected)
        #expect(first.eventIDIsDerived)
        #expect(second.eventID == expected)
        #expect(EnvelopeDecoder.derivedEventID(table: "outbox_messages", rowID: .integer(42)) == expected)
        // Another row or another table gives another id.
        #expect(try decoder.decode(Self.row(text, id: 43)).eventID != expected)
        #expect(try EnvelopeDecoder(table: "other_outbox").decode(Self.row(text, id: 42)).eventID != expected)
        // A message of no aggregate is ordered by its (derived) event id.
        #expect(first.orderingKey == "event:" + expected)
    }

    @Test(
        "derived ids match Python's uuid5 for multi-block SHA-1 input, text ids and negative ids",
        arguments: [
            // Values from python3 uuid.uuid5(uuid.NAMESPACE_URL, "outbox-relay:<table>:<id>").
            ("outbox_messages", OutboxRowID.integer(1), "96796eb5-0e86-50fa-8a7c-d459c12819cb"),
            (
                "app.outbox_messages_with_a_rather_long_name_for_multiblock_sha1", .integer(9_223_372_036_854_775_807),
                "c0171f9c-c517-5246-8c2c-490133e7bca6"
            ),
            ("messages_outbox", .text("25c29fdd-f0cf-4112-a421-9e1bfc3b78dd"), "b24d0378-bc18-5f46-a97b-9774ccecc7d9"),
            ("outbox_messages", .integer(-7), "e231838b-8646-59cb-92ca-b6c37cfe635a"),
        ]
    )
    func derivedEventIDVectors(table: String, rowID: OutboxRowID, expected: String) {
        #expect(EnvelopeDecoder.derivedEventID(table: table, rowID: rowID) == expected)
    }

    @Test("__event_id: null is treated as absent")
    func nullEventID() throws {
        let text = #"{"headers":{"__event_type":"t","__event_id":null},"payload":{}}"#
        let message = try decoder.decode(Self.row(text, id: 42))
        #expect(message.eventID == "f5d13ff5-7d80-51dc-8d12-83ecd1284137")
        #expect(message.eventIDIsDerived)
    }

    @Test("+0000 and +00:00 offsets give the same time")
    func offsetVariants() throws {
        let basic = Self.envelope(
            headers: #""__event_type":"t","__time_of_recording":"2024-03-14 05:04:50.163498+0000""#
        )
        let extended = Self.envelope(
            headers: #""__event_type":"t","__time_of_recording":"2024-03-14 05:04:50.163498+00:00""#
        )
        let shifted = Self.envelope(
            headers: #""__event_type":"t","__time_of_recording":"2024-03-14 07:04:50.163498+02:00""#
        )
        let expected = Timestamp(microsecondsSinceEpoch: 1_710_392_690_163_498)
        #expect(try decoder.decode(Self.row(basic)).timeOfRecording == expected)
        #expect(try decoder.decode(Self.row(extended)).timeOfRecording == expected)
        #expect(try decoder.decode(Self.row(shifted)).timeOfRecording == expected)
        #expect(try decoder.decode(Self.row(extended)).timeOfRecordingText == "2024-03-14 05:04:50.163498+00:00")
    }

    @Test(
        "__time_of_recording_format is honoured",
        arguments: [
            (#"Y-m-d\\TH:i:s.uP"#, "2024-03-14T05:04:50.163498+00:00", Int64(1_710_392_690_163_498)),
            ("U", "1710392690", Int64(1_710_392_690_000_000)),
            ("U.u", "1710392690.163498", Int64(1_710_392_690_163_498)),
            ("Y-m-d H:i:s", "2024-03-14 05:04:50", Int64(1_710_392_690_000_000)),
            ("Y-m-d H:i:s.uO", "2024-03-14 05:04:50.163498+0000", Int64(1_710_392_690_163_498)),
        ]
    )
    func customTimeFormat(format: String, text: String, micros: Int64) throws {
        let headers =
            #""__event_type":"t","__time_of_recording":""# + text + #"","__time_of_recording_format":""# + format
            + #"""#
        let message = try decoder.decode(Self.row(Self.envelope(headers: headers)))
        #expect(message.timeOfRecordingText == text)
        #expect(message.timeOfRecording == Timestamp(microsecondsSinceEpoch: micros))
    }

    @Test("a time that does not match its format is kept as text, not parsed, and the row still decodes")
    func unparseableTime() throws {
        let headers = #""__event_type":"t","__time_of_recording":"2024-03-14T05:04:50Z""#
        let message = try decoder.decode(Self.row(Self.envelope(headers: headers)))
        #expect(message.timeOfRecordingText == "2024-03-14T05:04:50Z")
        #expect(message.timeOfRecording == nil)
    }

    @Test("optional headers may be absent or null")
    func optionalHeaders() throws {
        let text =
            #"{"headers":{"__event_type":"t","__aggregate_root_id":null,"__aggregate_root_version":null},"payload":[]}"#
        let message = try decoder.decode(Self.row(text))
        #expect(message.aggregateRootID == nil)
        #expect(message.aggregateRootVersion == nil)
        #expect(message.aggregateRootType == nil)
        #expect(message.timeOfRecordingText == nil)
        #expect(message.timeOfRecording == nil)
    }

    @Test("a non-string aggregate root id is kept as its JSON text")
    func numericAggregateRootID() throws {
        let text = #"{"headers":{"__event_type":"t","__aggregate_root_id":12345},"payload":[]}"#
        #expect(try decoder.decode(Self.row(text)).aggregateRootID == "12345")
    }

    @Test("custom headers are kept, in stored order")
    func customHeaders() throws {
        let headers =
            #""x-b":{"type":"api-client","id":211592},"__event_type":"t","x-a":true,"x-n":null,"#
            + #""x-i":9223372036854775807"#
        let message = try decoder.decode(Self.row(Self.envelope(headers: headers)))
        #expect(message.headers.keys == ["x-b", "__event_type", "x-a", "x-n", "x-i"])
        #expect(message.headers["x-b"] == .object(["type": .string("api-client"), "id": .number("211592")]))
        #expect(message.headers["x-a"] == .bool(true))
        #expect(message.headers["x-n"] == .null)
        #expect(message.headers["x-i"]?.int64Value == Int64.max)
    }

    // MARK: Payload

    @Test("an empty payload is [] and its bytes are exactly []")
    func emptyArrayPayload() throws {
        let message = try decoder.decode(Self.row(Self.envelope(payload: "[]")))
        #expect(Array(message.payloadBytes) == Array("[]".utf8))
        #expect(try message.payload() == .array([]))
        #expect(try message.payload().isSemanticallyEqual(to: .object([:])))
    }

    @Test("\\u-escaped text and raw UTF-8 decode to the same strings; surrogate pairs become one scalar")
    func unicode() throws {
        let escaped = Self.envelope(
            headers: #""__event_type":"t","x-note":"\ud83d\ude9a Caf\u00e9 \u7dd1\u8336 a\/b""#,
            payload: #"{"name":"\ud83c\udf3f \u00dcberweisung"}"#
        )
        let raw = Self.envelope(
            headers: #""__event_type":"t","x-note":"🚚 Café 緑茶 a/b""#,
            payload: #"{"name":"🌿 Überweisung"}"#
        )
        let first = try decoder.decode(Self.row(escaped))
        let second = try decoder.decode(Self.row(raw))
        #expect(first.headers["x-note"] == .string("🚚 Café 緑茶 a/b"))
        #expect(second.headers["x-note"] == .string("🚚 Café 緑茶 a/b"))
        #expect(first.headers["x-note"]?.stringValue?.unicodeScalars.first == "\u{1F69A}")
        #expect(try first.payload() == .object(["name": .string("🌿 Überweisung")]))
        #expect(try second.payload() == .object(["name": .string("🌿 Überweisung")]))
        // The stored bytes are forwarded as they are: escaped stays escaped, raw stays raw.
        #expect(Array(first.payloadBytes) == Array(#"{"name":"\ud83c\udf3f \u00dcberweisung"}"#.utf8))
        #expect(Array(second.payloadBytes) == Array(#"{"name":"🌿 Überweisung"}"#.utf8))
    }

    @Test("64-bit integers are kept exactly, in headers and payload")
    func sixtyFourBitIntegers() throws {
        let headers = #""__event_type":"t","__aggregate_root_version":9223372036854775807,"x-big":18446744073709551615"#
        let message = try decoder.decode(
            Self.row(Self.envelope(headers: headers, payload: #"{"n":9223372036854775807,"m":-9223372036854775808}"#))
        )
        #expect(message.aggregateRootVersion == Int64.max)
        #expect(message.headers["x-big"] == .number("18446744073709551615"))
        let payload = try message.payload().objectValue
        #expect(payload?["n"] == .number("9223372036854775807"))
        #expect(payload?["n"]?.int64Value == Int64.max)
        #expect(payload?["m"]?.int64Value == Int64.min)
        #expect(String(decoding: message.payloadBytes, as: UTF8.self).contains("9223372036854775807"))
    }

    @Test("200 levels of nesting in the payload and in a header decode")
    func deepNesting() throws {
        let depth = 200
        let nested = String(repeating: #"{"a":["#, count: depth) + "1" + String(repeating: "]}", count: depth)
        let message = try decoder.decode(
            Self.row(Self.envelope(headers: #""__event_type":"t","x-deep":"# + nested, payload: nested))
        )
        #expect(Array(message.payloadBytes) == Array(nested.utf8))
        var value = try #require(message.headers["x-deep"])
        var levels = 0
        while case .object(let object) = value, case .array(let elements)? = object["a"], let first = elements.first {
            value = first
            levels += 1
        }
        #expect(levels == depth)
        #expect(value == .number("1"))
        #expect(try message.payload() == message.headers["x-deep"])
    }

    @Test("nesting beyond the parser's limit is an invalid row, not a crash")
    func tooDeep() {
        let nested = String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)
        let error = failure(Self.envelope(payload: nested))
        #expect(error?.code == .invalidJSON)
    }

    @Test("payloadBytes are exactly the stored slice, whatever the whitespace and member order")
    func payloadSlice() throws {
        let payload = #"{ "x" : [ 1 , 2.50 , "\/" ] , "y" : { } }"#
        let text =
            "\n {\t\"payload\" :  " + payload
            + " ,\r\n \"headers\" : { \"__event_type\" : \"t\" , \"__aggregate_root_version\" : 3 } \n}\n "
        let bytes = Array(text.utf8)
        let message = try decoder.decode(OutboxRow(id: .integer(5), payload: bytes))
        #expect(message.envelope == bytes)
        #expect(Array(message.payloadBytes) == Array(payload.utf8))
        let start = try #require(Self.range(of: Array(payload.utf8), in: bytes))
        #expect(message.payloadRange == start)
        #expect(message.eventType == "t")
        #expect(message.aggregateRootVersion == 3)
    }

    @Test(
        "scalar payloads are allowed and sliced exactly",
        arguments: ["null", "true", "0", "-1.5e3", #""text""#, "[]", "{}"]
    )
    func scalarPayloads(payload: String) throws {
        let message = try decoder.decode(Self.row(Self.envelope(payload: payload)))
        #expect(Array(message.payloadBytes) == Array(payload.utf8))
    }

    @Test("members other than headers and payload are ignored; the last duplicate wins, as in PHP")
    func extraAndDuplicateMembers() throws {
        let text =
            #"{"meta":{"x":[1,2]},"headers":{"__event_type":"first"},"payload":1,"#
            + #""headers":{"__event_type":"second"},"payload":2}"#
        let message = try decoder.decode(Self.row(text))
        #expect(message.eventType == "second")
        #expect(Array(message.payloadBytes) == Array("2".utf8))
    }

    // MARK: Bad rows

    @Test("an empty or whitespace-only column is .emptyPayload", arguments: ["", " ", "\n\t\r  "])
    func emptyColumn(text: String) {
        let error = failure(text, id: 77)
        #expect(error?.code == .emptyPayload)
        #expect(error?.rowID == .integer(77))
        #expect(error?.description.contains("row 77") == true)
    }

    @Test(
        "truncated JSON is .truncatedJSON",
        arguments: [
            "{", #"{"headers""#, #"{"headers":{"__event_type":"t"#,
            #"{"headers":{"__event_type":"t"},"payload":{"a":[1,2"#,
            #"{"headers":{"__event_type":"t"},"payload":{"a":"\u00"#,
            #"{"headers":{"__event_type":"t"},"payload":{"a":tru"#,
            #"{"headers":{"__event_type":"t"},"payload":-"#, #"{"headers":{"__event_type":"t"},"payload":{"a":"x\"#,
        ]
    )
    func truncated(text: String) {
        #expect(failure(text)?.code == .truncatedJSON)
    }

    @Test(
        "a real PHP row cut at 16001 characters (MySQL varchar) is .truncatedJSON",
        .enabled(if: EventSauceFixtures.isTestable, EventSauceFixtures.skipMessage)
    )
    func truncatedFixtureRow() throws {
        try EventSauceFixtures.requirePresent()
        let rows = try EventSauceFixtures.rows("outbox", "pgsql")
        let long = rows.filter { $0.row.payload.count > 16001 }
        try #require(!long.isEmpty, "the fixtures have rows longer than 16001 characters")
        for fixture in long {
            // The rows are pure ASCII (PHP's default escaping), so 16001 characters = 16001 bytes.
            let cut = OutboxRow(id: fixture.row.id, payload: Array(fixture.payloadText.prefix(16001).utf8))
            #expect(cut.payload.count == 16001)
            let error = failure(cut)
            #expect(error?.code == .truncatedJSON, "row \(fixture.row.id): \(String(describing: error))")
            #expect(error?.rowID == fixture.row.id)
        }
    }

    @Test(
        "every prefix of a real PHP row with surrogate pairs in its headers is .truncatedJSON",
        .enabled(if: EventSauceFixtures.isTestable, EventSauceFixtures.skipMessage)
    )
    func everyPrefixIsTruncated() throws {
        try EventSauceFixtures.requirePresent()
        let rows = try EventSauceFixtures.rows("original", "pgsql")
        // A short row whose headers hold \ud83d\u… escapes, so cuts land inside surrogate pairs too.
        let candidates = rows.filter { row in
            guard let headersEnd = Self.range(of: Array(#""payload":"#.utf8), in: row.row.payload) else { return false }
            return Self.range(of: Array(#"\ud83d"#.utf8), in: Array(row.row.payload[..<headersEnd.lowerBound])) != nil
        }
        let fixture = try #require(candidates.min { $0.row.payload.count < $1.row.payload.count })
        let bytes = fixture.row.payload
        for length in 1..<bytes.count {
            let error = failure(OutboxRow(id: fixture.row.id, payload: Array(bytes[0..<length])))
            if error?.code != .truncatedJSON {
                Issue.record(
                    """
                    prefix of \(length) of \(bytes.count) bytes \
                    (…\(String(decoding: bytes[max(0, length - 20)..<length], as: UTF8.self))): \
                    \(String(describing: error))
                    """
                )
                break
            }
        }
    }

    @Test(
        "syntax errors are .invalidJSON",
        arguments: [
            #"{"headers":{"__event_type":"t"},"payload":{"a":1,}}"#,
            #"{"headers":{"__event_type":"t"},"payload":[1 2]}"#,
            #"{"headers":{"__event_type":"t"},"payload":01}"#, #"{"headers":{"__event_type":"t"},"payload":"\x"}"#,
            #"{"headers":{"__event_type":"t"},"payload":{}} trailing"#,
            #"{"headers":{"__event_type":"t"}"payload":{}}"#,
            "{\"headers\":{\"__event_type\":\"t\"},\"payload\":\"a\u{01}b\"}",
            #"{"headers":{"__event_type":"t","x":"\udc00"},"payload":{}}"#,
            #"{headers:{}}"#,
        ]
    )
    func invalidJSON(text: String) {
        #expect(failure(text)?.code == .invalidJSON)
    }

    @Test(
        "an unpaired surrogate anywhere, payload included, is .invalidJSON (PHP's json_decode rejects it)",
        arguments: [
            #"{"headers":{"__event_type":"t"},"payload":{"a":"\ud83d"}}"#,
            #"{"headers":{"__event_type":"t"},"payload":["\udc00"]}"#,
            #"{"headers":{"__event_type":"t"},"payload":{"\ud83d x":1}}"#,
            #"{"headers":{"__event_type":"t","x":"\ud83d\u0041"},"payload":1}"#,
        ]
    )
    func unpairedSurrogate(text: String) {
        let error = failure(text)
        #expect(error?.code == .invalidJSON)
        #expect(error?.detail.contains("surrogate") == true)
    }

    @Test("payload() of every decoded message parses (the decoder checked the payload's syntax)")
    func decodedPayloadParses() throws {
        let payloads = [#"{"a":"\ud83d\ude9a"}"#, "[]", #"{"deep":[[[[[{"x":null}]]]]]}"#, "1e5", #""\u0000""#]
        for payload in payloads {
            let message = try decoder.decode(Self.row(Self.envelope(payload: payload)))
            #expect(throws: Never.self) { try message.payload() }
        }
    }

    @Test(
        "JSON that is not an object is .notAnObject",
        arguments: ["[]", "[1,2]", #""text""#, "null", "42", "x", "  [ ]"]
    )
    func notAnObject(text: String) {
        #expect(failure(text)?.code == .notAnObject)
    }

    @Test("no headers member is .missingHeaders")
    func missingHeaders() {
        let error = failure(#"{"payload":{"a":1}}"#)
        #expect(error?.code == .missingHeaders)
        #expect(failure("{}")?.code == .missingHeaders)
    }

    @Test(
        "headers that are not an object are .missingHeaders",
        arguments: ["[]", #"["__event_type"]"#, #""t""#, "null", "1"]
    )
    func headersNotAnObject(headers: String) {
        let error = failure(#"{"headers":"# + headers + #","payload":{}}"#)
        #expect(error?.code == .missingHeaders)
        #expect(error?.detail.contains("not a JSON object") == true)
    }

    @Test("no payload member is .missingPayload")
    func missingPayload() {
        #expect(failure(#"{"headers":{"__event_type":"t"}}"#)?.code == .missingPayload)
    }

    @Test("a missing __event_type is .missingHeader")
    func missingEventType() {
        let error = failure(#"{"headers":{"__event_id":"e","__aggregate_root_version":1},"payload":{}}"#)
        #expect(error?.code == .missingHeader)
        #expect(error?.detail.contains("__event_type") == true)
    }

    @Test(
        "an __event_type that is not a non-empty string is .invalidHeader",
        arguments: [#""""#, "1", "null", "true", #"["t"]"#]
    )
    func invalidEventType(value: String) {
        #expect(failure(#"{"headers":{"__event_type":"# + value + #"},"payload":{}}"#)?.code == .invalidHeader)
    }

    @Test(
        "a non-integer __aggregate_root_version is .invalidHeader",
        arguments: ["1.5", #""three""#, "true", "[1]", "{}", "9223372036854775808", "1e2"]
    )
    func invalidVersion(value: String) {
        let error = failure(
            #"{"headers":{"__event_type":"t","__aggregate_root_version":"# + value + #"},"payload":{}}"#
        )
        #expect(error?.code == .invalidHeader)
        #expect(error?.detail.contains("__aggregate_root_version") == true)
    }

    @Test("a dispatcher row's text id appears in errors")
    func textRowIDInError() {
        let row = OutboxRow(id: .text("0c25b9eb-7463-4574-ba4a-b80712dd2120"), payload: [])
        let error = failure(row)
        #expect(error?.rowID == .text("0c25b9eb-7463-4574-ba4a-b80712dd2120"))
        #expect(error?.description.hasPrefix("row 0c25b9eb-7463-4574-ba4a-b80712dd2120: ") == true)
        #expect(error?.description.hasSuffix("[emptyPayload]") == true)
    }

    @Test("error codes are distinct and print their names (they appear in logs and dead letters)")
    func errorCodes() {
        let codes: [EnvelopeDecodingError.Code] = [
            .emptyPayload, .truncatedJSON, .invalidJSON, .notAnObject, .missingHeaders, .missingPayload,
            .missingHeader, .invalidHeader, .expanderFailed,
        ]
        #expect(Set(codes).count == codes.count)
        #expect(
            codes.map(\.description) == [
                "emptyPayload", "truncatedJSON", "invalidJSON", "notAnObject", "missingHeaders", "missingPayload",
                "missingHeader", "invalidHeader", "expanderFailed",
            ]
        )
    }

    // MARK: Interoperability with PHP

    @Test(
        "every fixture row decodes to what PHP decoded",
        .enabled(if: EventSauceFixtures.isTestable, EventSauceFixtures.skipMessage),
        arguments: EventSauceFixtures.tables.map { "\($0.folder)/\($0.database)" }
    )
    func fixtureInterop(directory: String) throws {
        try EventSauceFixtures.requirePresent()
        let table = try #require(EventSauceFixtures.tables.first { "\($0.folder)/\($0.database)" == directory })
        let rows = try EventSauceFixtures.rows(table.folder, table.database)
        let decoded = try EventSauceFixtures.decoded(table.folder, table.database)
        #expect(rows.count == 200)
        #expect(decoded.count == rows.count)
        let decoder = EnvelopeDecoder(table: table.flavour.defaultTable)
        var derivedCount = 0
        for (fixture, expectation) in zip(rows, decoded) {
            let row = fixture.row
            #expect(expectation["row_id"]?.textValue == row.id.description)
            guard case .array(let messages)? = expectation["messages"], messages.count == 1,
                let php = messages[0].objectValue
            else {
                Issue.record("row \(row.id): expected one message in decoded.json")
                continue
            }
            let message: OutboxMessage
            do {
                message = try decoder.decode(row)
            } catch {
                Issue.record("row \(row.id) in \(directory) does not decode: \(error)")
                continue
            }
            #expect(message.rowID == row.id)
            #expect(message.envelope == row.payload)
            #expect(message.eventType == php["event_type"]?.stringValue, "row \(row.id)")
            if let eventID = php["event_id"]?.stringValue {
                #expect(message.eventID == eventID, "row \(row.id)")
                #expect(!message.eventIDIsDerived)
            } else {
                #expect(php["event_id"] == .null)
                #expect(message.eventIDIsDerived, "row \(row.id)")
                #expect(
                    message.eventID == EnvelopeDecoder.derivedEventID(table: table.flavour.defaultTable, rowID: row.id)
                )
                derivedCount += 1
            }
            #expect(message.aggregateRootID == php["aggregate_root_id"]?.stringValue, "row \(row.id)")
            #expect(message.aggregateRootIDType == php["aggregate_root_id_type"]?.stringValue, "row \(row.id)")
            #expect(message.aggregateRootType == php["aggregate_root_type"]?.stringValue, "row \(row.id)")
            #expect(message.aggregateRootVersion == php["aggregate_root_version"]?.int64Value, "row \(row.id)")
            #expect(message.timeOfRecordingText == php["time_of_recording"]?.stringValue, "row \(row.id)")
            // Every fixture time is UTC with microseconds: the parsed time prints back as the text.
            if let text = message.timeOfRecordingText, let time = message.timeOfRecording {
                #expect(time.sqlText + "+0000" == text, "row \(row.id)")
            } else {
                Issue.record("row \(row.id): no parsed time of recording")
            }

            var phpHeaders = php["headers"]?.objectValue ?? [:]
            phpHeaders["__doctrine_outbox.message_id"] = nil
            #expect(
                JSONValue.object(message.headers).isSemanticallyEqual(to: .object(phpHeaders)),
                "row \(row.id): headers differ"
            )
            let payload = try message.payload()
            #expect(payload.isSemanticallyEqual(to: php["payload"] ?? .null), "row \(row.id): payload differs")

            // PHP writes {"headers":…,"payload":…}: the payload slice runs to the closing brace.
            #expect(message.payloadRange.upperBound == row.payload.count - 1)
            #expect(
                Array(row.payload[(message.payloadRange.lowerBound - 10)..<message.payloadRange.lowerBound])
                    == Array(#""payload":"#.utf8)
            )
        }
        let expectedDerived = ["outbox/pgsql": 28, "outbox/mysql": 33, "outbox/sqlite": 33][directory] ?? 0
        #expect(derivedCount == expectedDerived)
    }

    static func range(of needle: [UInt8], in haystack: [UInt8]) -> Range<Int>? {
        guard needle.count <= haystack.count else { return nil }
        for start in 0...(haystack.count - needle.count)
        where haystack[start..<(start + needle.count)].elementsEqual(needle) {
            return start..<(start + needle.count)
        }
        return nil
    }
}
