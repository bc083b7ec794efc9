import OutboxRelay
import Testing

@Suite("JSONValue")
struct JSONValueTests {
    @Test("semantic equality: numbers by value, objects ignore key order, {} equals []")
    func semanticEquality() throws {
        let a = try JSONParser.parse(#"{"a":1,"b":[1.0,{"c":"x"}],"e":{}}"#)
        let b = try JSONParser.parse(#"{"e":[],"b":[1,{"c":"x"}],"a":1.00}"#)
        #expect(a.isSemanticallyEqual(to: b))
        #expect(b.isSemanticallyEqual(to: a))
        #expect(a != b)
    }

    @Test(
        "semantic inequality",
        arguments: [
            (#"{"a":1}"#, #"{"a":2}"#), (#"{"a":1}"#, #"{"a":1,"b":1}"#), (#"{"a":1}"#, #"{"b":1}"#),
            ("[1,2]", "[2,1]"), ("[1]", "[1,1]"), ("9223372036854775807", "9223372036854775806"),
            (#""1""#, "1"), ("null", "false"), ("[]", #"{"a":1}"#), ("{}", "[1]"), ("true", "1"), (#""a""#, #""A""#),
        ]
    )
    func semanticInequality(left: String, right: String) throws {
        let x = try JSONParser.parse(left)
        let y = try JSONParser.parse(right)
        #expect(!x.isSemanticallyEqual(to: y))
        #expect(!y.isSemanticallyEqual(to: x))
    }

    @Test("accessors")
    func accessors() {
        #expect(JSONValue.number("9223372036854775807").int64Value == Int64.max)
        #expect(JSONValue.number("1.5").int64Value == nil)
        #expect(JSONValue.string("42").int64Value == 42)
        #expect(JSONValue.bool(true).int64Value == nil)
        #expect(JSONValue.number("1.5").doubleValue == 1.5)
        #expect(JSONValue.string("x").stringValue == "x")
        #expect(JSONValue.number("1").stringValue == nil)
        #expect(JSONValue.array([]).objectValue == nil)
    }

    @Test("textValue: strings bare, others as JSON")
    func textValue() {
        #expect(JSONValue.string("a/b").textValue == "a/b")
        #expect(JSONValue.number("-1e3").textValue == "-1e3")
        #expect(JSONValue.bool(false).textValue == "false")
        #expect(JSONValue.null.textValue == "")
        #expect(JSONValue.object(["type": .string("a/b"), "id": .number("1")]).textValue == #"{"type":"a\/b","id":1}"#)
    }

    @Test("JSONObject subscript: reads the last duplicate, sets it in place, appends new keys, removes with nil")
    func objectSubscript() {
        var object: JSONObject = ["a": .number("1"), "b": .number("2"), "a": .number("3")]
        #expect(object["a"] == .number("3"))
        object["a"] = .number("4")
        #expect(object.members.map(\.value) == [.number("1"), .number("2"), .number("4")])
        object["c"] = .null
        #expect(object.keys == ["a", "b", "a", "c"])
        object["b"] = nil
        #expect(object.keys == ["a", "a", "c"])
        object["missing"] = nil
        #expect(object.count == 3)
    }

    @Test("JSONObject equality and hashing are order-sensitive")
    func objectEquality() {
        let x: JSONObject = ["a": .number("1"), "b": .number("2")]
        let y: JSONObject = ["b": .number("2"), "a": .number("1")]
        #expect(x != y)
        #expect(x == ["a": .number("1"), "b": .number("2")])
        #expect(Set([x, x, y]).count == 2)
    }
}
