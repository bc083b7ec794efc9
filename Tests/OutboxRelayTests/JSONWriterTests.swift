import OutboxRelay
import Testing

@Suite("JSONWriter")
struct JSONWriterTests {
    static func text(_ value: JSONValue, escaping: JSONWriter.Escaping = .php) -> String {
        String(decoding: JSONWriter.encode(value, escaping: escaping), as: UTF8.self)
    }

    @Test(
        "PHP escaping, as json_encode with default flags writes it",
        arguments: [
            // (string, what PHP 8 `json_encode($string)` prints)
            ("a/b", #""a\/b""#),
            ("Café", #""Caf\u00e9""#),
            ("緑茶", #""\u7dd1\u8336""#),
            ("🚚", #""\ud83d\ude9a""#),
            ("👍🏽", #""\ud83d\udc4d\ud83c\udffd""#),
            ("\u{FFFF}\u{10FFFF}", #""\uffff\udbff\udfff""#),
            ("quote \" backslash \\", #""quote \" backslash \\""#),
            ("\n\r\t\u{08}\u{0C}", #""\n\r\t\b\f""#),
            ("\u{0}\u{1}\u{1F}", #""\u0000\u0001\u001f""#),
            ("\u{7F}<>&'", "\"\u{7F}<>&'\""),
            ("\u{2028}", #""\u2028""#),
            ("", #""""#),
        ]
    )
    func phpEscaping(string: String, expected: String) {
        #expect(Self.text(.string(string)) == expected)
        #expect(Array(expected.utf8).allSatisfy { $0 < 0x80 }, "PHP's default output is pure ASCII")
    }

    @Test("minimal escaping keeps / and raw UTF-8 but still escapes controls, quotes and backslashes")
    func minimalEscaping() {
        #expect(Self.text(.string("a/b Café 🚚"), escaping: .minimal) == "\"a/b Café 🚚\"")
        #expect(Self.text(.string("\"\\\n\u{1}"), escaping: .minimal) == #""\"\\\n\u0001""#)
    }

    @Test("compact output, stored key order, numbers as written")
    func structure() {
        let value: JSONValue = .object([
            "z": .number("9223372036854775807"),
            "a": .array([.null, .bool(true), .bool(false), .number("-1.50e3"), .array([]), .object([:])]),
            "m": .object(["k/": .string("v")]),
        ])
        #expect(Self.text(value) == #"{"z":9223372036854775807,"a":[null,true,false,-1.50e3,[],{}],"m":{"k\/":"v"}}"#)
    }

    @Test("write and writeString append to what is there")
    func appending() {
        var output = Array("prefix:".utf8)
        JSONWriter.write(.array([.number("1")]), to: &output)
        JSONWriter.writeString("é/", escaping: .minimal, to: &output)
        #expect(String(decoding: output, as: UTF8.self) == "prefix:[1]\"é/\"")
    }

    @Test("parse(encode(v)) == v, with either escaping")
    func roundTrip() throws {
        let value: JSONValue = .object([
            "text": .string("🌿 Monstera \"large\" \\ a/b \n\t\u{0} 緑"),
            "list": .array([.number("0.9907"), .number("-0"), .null, .object(["x": .array([.bool(true)])])]),
            "dup": .number("1"),
            "dup": .number("2"),
        ])
        #expect(try JSONParser.parse(JSONWriter.encode(value)) == value)
        #expect(try JSONParser.parse(JSONWriter.encode(value, escaping: .minimal)) == value)
    }

    @Test(
        "re-encoding every stored fixture payload gives PHP's exact bytes",
        .enabled(if: EventSauceFixtures.isTestable, EventSauceFixtures.skipMessage),
        arguments: EventSauceFixtures.tables.map { "\($0.folder)/\($0.database)" }
    )
    func fixtureBytes(directory: String) throws {
        try EventSauceFixtures.requirePresent()
        let table = try #require(EventSauceFixtures.tables.first { "\($0.folder)/\($0.database)" == directory })
        let rows = try EventSauceFixtures.rows(table.folder, table.database)
        #expect(!rows.isEmpty)
        for fixture in rows {
            let value = try JSONParser.parse(fixture.row.payload)
            let encoded = JSONWriter.encode(value)
            if encoded != fixture.row.payload {
                Issue.record("row \(fixture.row.id): re-encoding differs from what PHP stored")
            }
        }
    }
}
