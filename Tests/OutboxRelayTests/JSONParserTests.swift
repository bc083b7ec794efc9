import Testing

@testable import OutboxRelay

@Suite("JSONParser")
struct JSONParserTests {
    func parseError(_ text: String) -> JSONParseError? {
        do {
            let value = try JSONParser.parse(text)
            Issue.record("expected a parse error, got \(value)")
            return nil
        } catch {
            return error
        }
    }

    @Test("scalars")
    func scalars() throws {
        #expect(try JSONParser.parse("null") == .null)
        #expect(try JSONParser.parse("true") == .bool(true))
        #expect(try JSONParser.parse("false") == .bool(false))
        #expect(try JSONParser.parse(#""abc""#) == .string("abc"))
        #expect(try JSONParser.parse(" \t\r\n 1 \n") == .number("1"))
    }

    @Test(
        "numbers keep their exact text",
        arguments: [
            "0", "-0", "42", "-1.5e3", "1E+2", "2.50", "0.9907", "9223372036854775807", "-9223372036854775808",
            "18446744073709551615", "123456789012345678901234567890", "1e-7",
        ]
    )
    func numbers(text: String) throws {
        #expect(try JSONParser.parse(text) == .number(text))
    }

    @Test("objects keep stored order and duplicates; the subscript returns the last duplicate")
    func objects() throws {
        let value = try JSONParser.parse(#"{"b":1,"a":{"c":[]},"b":2}"#)
        let object = try #require(value.objectValue)
        #expect(object.keys == ["b", "a", "b"])
        #expect(object["b"] == .number("2"))
        #expect(object["a"] == .object(["c": .array([])]))
        #expect(object["missing"] == nil)
    }

    @Test("arrays and whitespace everywhere")
    func arrays() throws {
        #expect(
            try JSONParser.parse(" [ 1 , [ ] , { } , \"x\" , null ] ")
                == .array([.number("1"), .array([]), .object([:]), .string("x"), .null])
        )
        #expect(try JSONParser.parse("[]") == .array([]))
        #expect(try JSONParser.parse("{}") == .object([:]))
    }

    @Test(
        "escapes",
        arguments: [
            (#""\"\\\/\b\f\n\r\t""#, "\"\\/\u{08}\u{0C}\n\r\t"),
            (#""\u00e9\u00C9""#, "éÉ"),
            (#""\u0000""#, "\u{0}"),
            (#""\ud83d\ude9a""#, "🚚"),
            (#""\uD83C\uDF3F x""#, "🌿 x"),
            (#""\uffff""#, "\u{FFFF}"),
            (#""a\u2028b""#, "a\u{2028}b"),
            (#""prefix \n then \u7dd1""#, "prefix \n then 緑"),
        ]
    )
    func escapes(json: String, expected: String) throws {
        #expect(try JSONParser.parse(json) == .string(expected))
    }

    @Test("raw UTF-8 is kept")
    func rawUTF8() throws {
        #expect(try JSONParser.parse(#""Café ☕ 🚚 緑茶""#) == .string("Café ☕ 🚚 緑茶"))
        #expect(try JSONParser.parse(#"{"ключ":"значение"}"#) == .object(["ключ": .string("значение")]))
    }

    @Test("a surrogate pair becomes one scalar encoded as 4 UTF-8 bytes")
    func surrogatePairBytes() throws {
        let text = try #require(try JSONParser.parse(#""\ud83d\udc4d\ud83c\udffd""#).stringValue)
        #expect(text.unicodeScalars.map(\.value) == [0x1F44D, 0x1F3FD])
        #expect(Array(text.utf8) == [0xF0, 0x9F, 0x91, 0x8D, 0xF0, 0x9F, 0x8F, 0xBD])
    }

    @Test(
        "unpaired surrogates are errors",
        arguments: [#""\ud83d""#, #""\ud83d x""#, #""\ud83d\u0041""#, #""\udc00""#, #""\ude9a\ud83d""#]
    )
    func unpairedSurrogates(json: String) {
        let error = parseError(json)
        #expect(error?.isTruncated == false)
        #expect(error?.reason.contains("surrogate") == true)
    }

    @Test("200 levels of nesting parse; more than maximumDepth is an error")
    func depth() throws {
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        var value = try JSONParser.parse(deep)
        var levels = 0
        while case .array(let elements) = value {
            levels += 1
            guard let first = elements.first else { break }
            value = first
        }
        #expect(levels == 200)
        let tooDeep = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
        let error = parseError(tooDeep)
        #expect(error?.isTruncated == false)
        #expect(error?.reason.contains("nesting") == true)
        let exactlyAtLimit = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        #expect(throws: Never.self) { try JSONParser.parse(exactlyAtLimit) }
    }

    @Test("a custom maximumDepth is honoured by parseValue and skipValue")
    func customDepth() {
        let bytes = Array("[[[1]]]".utf8)
        bytes.withUnsafeBufferPointer { buffer in
            // Three arrays and the number inside them: four levels of values.
            var shallow = JSONParser(bytes: buffer, maximumDepth: 3)
            #expect(throws: JSONParseError.self) { try shallow.parseValue(depth: 0) }
            var skipping = JSONParser(bytes: buffer, maximumDepth: 3)
            #expect(throws: JSONParseError.self) { try skipping.skipValue() }
            var enough = JSONParser(bytes: buffer, maximumDepth: 4)
            #expect((try? enough.skipValue()) == 0..<7)
            var enoughToBuild = JSONParser(bytes: buffer, maximumDepth: 4)
            #expect((try? enoughToBuild.parseValue(depth: 0)) == .array([.array([.array([.number("1")])])]))
        }
    }

    @Test(
        "syntax errors are not truncation",
        arguments: [
            "[1,]", #"{"a":1,}"#, "[1 2]", "01", "+1", ".5", "1.e3", "[1]x", "{'a':1}",
            #"{"a" 1}"#, #"{1:2}"#, #""\x""#, #""\u12G4""#, "\"a\u{01}\"", "\"tab\there\"", "NaN", "Infinity", "[1]]",
            "}",
        ]
    )
    func syntaxErrors(json: String) {
        let error = parseError(json)
        #expect(error?.isTruncated == false, "\(String(describing: error))")
    }

    @Test(
        "documents that end early are truncation",
        arguments: [
            "", " ", "[", "[1", "[1,", "{", #"{"a""#, #"{"a":"#, #"{"a":1"#, #"{"a":1,"#, #""abc"#, #""ab\"#, #""\u00"#,
            "tru", "nul", "fals", "-", "1.", "1e", "1e+", #""\ud83d"#, #""\ud83d\"#, #""\ud83d\u"#, #""\ud83d\ude"#,
        ]
    )
    func truncation(json: String) {
        let error = parseError(json)
        #expect(error?.isTruncated == true, "\(String(describing: error))")
    }

    @Test("errors carry the byte offset where parsing stopped")
    func errorOffset() {
        #expect(parseError("[1, x]")?.offset == 4)
        #expect(parseError("[1] 2")?.offset == 4)
        #expect(parseError(#"{"a":1,}"#)?.offset == 7)
        #expect(parseError("[1, x]")?.description.contains("byte 4") == true)
    }

    @Test("skipValue returns the exact range and builds nothing")
    func skipValue() throws {
        let text = #"  {"a":[1,{"b":"\"}"}],"c":"\ud83d\ude9a"}   ,"#
        let bytes = Array(text.utf8)
        let range = try bytes.withUnsafeBufferPointer { (buffer) throws(JSONParseError) -> Range<Int> in
            var parser = JSONParser(bytes: buffer)
            return try parser.skipValue()
        }
        #expect(String(decoding: bytes[range], as: UTF8.self) == #"{"a":[1,{"b":"\"}"}],"c":"\ud83d\ude9a"}"#)
    }

    @Test(
        "skipValue rejects what parseValue rejects",
        arguments: [
            "[1,]", #"{"a":1,}"#, "[1 2]", "-", "+1", "1.", "nul", #""\x""#, #""\u12G4""#, "\"a\u{01}\"", #"{"a" 1}"#,
            #"{1:2}"#,
            #""\ud83d""#, #""\ud83d x""#, #""\ud83d\u0041""#, #""\udc00""#, #"["\ude9a\ud83d"]"#, #""\ud83d"#,
            #""\ud83d\"#,
        ]
    )
    func skipRejects(json: String) {
        let bytes = Array(json.utf8)
        bytes.withUnsafeBufferPointer { buffer in
            var parser = JSONParser(bytes: buffer)
            #expect(throws: JSONParseError.self) { try parser.skipValue() }
        }
    }

    @Test(
        "skipValue and parseValue agree on truncation and surrogates",
        arguments: [
            (#""\ud83d"#, true), (#""\ud83d\"#, true), (#""\ud83d\u"#, true), (#""\ud83d\ude"#, true),
            (#""\ud83d""#, false), (#""\ud83d\n""#, false), (#""\udc00\ud83d""#, false),
        ]
    )
    func skipAgreesWithParse(json: String, isTruncated: Bool) {
        let bytes = Array(json.utf8)
        bytes.withUnsafeBufferPointer { buffer in
            var skipping = JSONParser(bytes: buffer)
            var parsing = JSONParser(bytes: buffer)
            var skipError: JSONParseError?
            var parseError: JSONParseError?
            do { _ = try skipping.skipValue() } catch { skipError = error as? JSONParseError }
            do { _ = try parsing.parseValue(depth: 0) } catch { parseError = error as? JSONParseError }
            #expect(skipError?.isTruncated == isTruncated)
            #expect(parseError?.isTruncated == isTruncated)
            #expect(skipError?.reason == parseError?.reason)
        }
    }

    @Test("navigation: beginObject, readKey, nextMember and expectEnd")
    func navigation() throws {
        let bytes = Array(#" { "k" : 1 , "l" : [2] } "#.utf8)
        try bytes.withUnsafeBufferPointer { (buffer) throws(JSONParseError) in
            var parser = JSONParser(bytes: buffer)
            #expect(try parser.beginObject() == false)
            #expect(try parser.readKey() == "k")
            #expect(try parser.parseValue(depth: 0) == .number("1"))
            #expect(try parser.nextMember() == true)
            #expect(try parser.readKey() == "l")
            #expect(try parser.skipValue() == 19..<22)
            #expect(try parser.nextMember() == false)
            try parser.expectEnd()
        }
        let empty = Array("{ }".utf8)
        try empty.withUnsafeBufferPointer { (buffer) throws(JSONParseError) in
            var parser = JSONParser(bytes: buffer)
            #expect(try parser.beginObject() == true)
            try parser.expectEnd()
        }
    }

    @Test("parse(Collection) accepts slices")
    func slices() throws {
        let bytes = Array("xx[1,2]yy".utf8)
        #expect(try JSONParser.parse(bytes[2..<7]) == .array([.number("1"), .number("2")]))
    }

    @Test("readKey(_:) hands over a plain key's stored bytes and an escaped key decoded")
    func readKeyBytes() throws {
        let bytes = Array(#"{"__event_type" : 1, "\u005f_event_type":2, "x\"y":3}"#.utf8)
        try bytes.withUnsafeBufferPointer { (buffer) throws(JSONParseError) in
            var parser = JSONParser(bytes: buffer)
            #expect(try parser.beginObject() == false)
            #expect(try parser.readKey { $0.equals("__event_type") })
            #expect(try parser.skipValue() == 18..<19)
            #expect(try parser.nextMember())
            #expect(try parser.readKey { Array($0) } == Array("__event_type".utf8))
            _ = try parser.skipValue()
            #expect(try parser.nextMember())
            #expect(try parser.readKey { String(decoding: $0, as: UTF8.self) } == "x\"y")
            _ = try parser.skipValue()
            #expect(try parser.nextMember() == false)
        }
    }

    @Test(
        "strings longer than one 16-byte block with escapes, quotes and control characters in any position",
        arguments: 0..<40
    )
    func stringsAcrossBlocks(position: Int) throws {
        let filler = String(repeating: "a", count: position)
        #expect(try JSONParser.parse(#"["\#(filler)\/\#(filler)"]"#) == .array([.string(filler + "/" + filler)]))
        #expect(
            try JSONParser.parse(#"{"k":"\#(filler)\"x"}"#)
                == .object(JSONObject([(key: "k", value: .string(filler + "\"x"))]))
        )
        #expect(throws: JSONParseError.self) { try JSONParser.parse("[\"\(filler)\u{01}\"]") }
        #expect(throws: JSONParseError.self) { try JSONParser.parse("[\"\(filler)") }
        let skipped = Array(#"{"headers":{},"payload":"\#(filler)\u00fc\"\#(filler)"}"#.utf8)
        try skipped.withUnsafeBufferPointer { (buffer) throws(JSONParseError) in
            var parser = JSONParser(bytes: buffer)
            _ = try parser.beginObject()
            _ = try parser.readKey { _ in () }
            _ = try parser.skipValue()
            _ = try parser.nextMember()
            _ = try parser.readKey { _ in () }
            #expect(try parser.skipValue() == 24..<(buffer.count - 1))
        }
    }
}
